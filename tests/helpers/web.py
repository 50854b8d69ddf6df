"""Signed-in page clients and the requester's new-project form."""

from __future__ import annotations

from django.test import Client

NEW_PROJECT = {
    "name": "Sentiment",
    "description": "Tweets",
    "item_kind": "text",
    "labels": "positive\nnegative, neutral",
    "confidence_threshold": "0.8",
    "min_overlap": "2",
    "max_overlap": "4",
    "target_posterior": "0.95",
    "gold_share": "0.1",
    "reward_per_answer": "0.02",
    "lease_seconds": "600",
    "qualification_size": "0",
    "qualification_pass_rate": "0.7",
    "aggregation_method": "dawid_skene",
    "callback_url": "",
}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client

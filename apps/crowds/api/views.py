"""Private crowds in the API: a requester's groups, members and invite links; a worker
joining through a link, listing and leaving their groups.

Requester endpoints are scoped to the requester's own groups (admins: all): another
requester's group, its members and links answer 404, as projects do. A new link's token is in
the creation response only (the database keeps its hash).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.crowds.models import InviteLink, Membership, WorkerGroup
from apps.crowds.selectors import (
    MAX_TOKEN_LENGTH,
    group_get_for_requester,
    group_list_for_requester,
    group_list_for_worker,
    invite_get,
    invite_list,
    invite_state,
    invite_url,
    membership_list,
)
from apps.crowds.services import (
    INVITE_MAX_USES,
    group_create,
    group_delete,
    group_rename,
    invite_create,
    invite_join,
    invite_revoke,
    membership_add,
    membership_leave,
    membership_remove,
)
from apps.workers.permissions import IsRequester, IsWorker

UNAUTHORIZED = {401: OpenApiResponse(description="No or expired token.")}
REQUESTER = {
    **UNAUTHORIZED,
    403: OpenApiResponse(description="Not a requester."),
}
NOT_MINE = {404: OpenApiResponse(description="No such group among yours (or no such member/link).")}
INVALID = {400: OpenApiResponse(description="Invalid fields: `errors` names each field.")}
WORKER = {**UNAUTHORIZED, 403: OpenApiResponse(description="Not a worker.")}


# --- Shapes ----------------------------------------------------------------------------------


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    member_count = serializers.IntegerField(default=0)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GroupInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=WorkerGroup._meta.get_field("name").max_length)


class MemberSerializer(serializers.Serializer):
    worker_id = serializers.IntegerField()
    username = serializers.CharField(source="worker.username")
    source = serializers.ChoiceField(
        choices=Membership.Source.choices, help_text="`invite` (a link) or `added` (by you)."
    )
    joined_at = serializers.DateTimeField()
    email_verified = serializers.BooleanField(
        source="worker.email_verified",
        help_text="The worker confirmed their address (unverified workers may work).",
    )


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="An active worker's username.")


class InviteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    hint = serializers.CharField(help_text="The token's first characters, to tell links apart.")
    state = serializers.SerializerMethodField(
        help_text="`live`, `expired`, `revoked` or `used_up`."
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    max_uses = serializers.IntegerField(allow_null=True, help_text="null: no limit.")
    uses = serializers.IntegerField()

    def get_state(self, invite: InviteLink) -> str:
        return invite_state(invite)


class NewInviteSerializer(InviteSerializer):
    token = serializers.CharField(help_text="Shown this once: only its hash is kept.")
    url = serializers.CharField(help_text="The link to give people, shown this once.")


class InviteInputSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(
        required=False, help_text="Default: in 14 days; at most 365 days ahead."
    )
    max_uses = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=INVITE_MAX_USES,
        help_text="How many workers may join through it; null or left out: no limit.",
    )


class JoinInputSerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=MAX_TOKEN_LENGTH, help_text="The token of the link (after /invite/)."
    )


class MyGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="group_id")
    name = serializers.CharField(source="group.name")
    owner = serializers.CharField(source="group.owner.username", help_text="The requester.")
    source = serializers.ChoiceField(choices=Membership.Source.choices)
    joined_at = serializers.DateTimeField()


class JoinedSerializer(MyGroupSerializer):
    joined = serializers.BooleanField(help_text="false: I was already in the group.")


# --- Requester views -------------------------------------------------------------------------


class GroupListView(generics.ListAPIView):
    permission_classes = [IsRequester]
    serializer_class = GroupSerializer

    @extend_schema(
        summary="My worker groups", responses={200: GroupSerializer(many=True), **REQUESTER}
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WorkerGroup.objects.none()
        return group_list_for_requester(user=self.request.user)

    @extend_schema(
        summary="Create a worker group",
        request=GroupInputSerializer,
        responses={201: GroupSerializer, **INVALID, **REQUESTER},
    )
    def post(self, request: Request) -> Response:
        data = GroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = group_create(owner=request.user, name=data.validated_data["name"])
        return Response(GroupSerializer(group).data, status=status.HTTP_201_CREATED)


class GroupDetailView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="One of my groups", responses={200: GroupSerializer, **REQUESTER, **NOT_MINE}
    )
    def get(self, request: Request, group_id: int) -> Response:
        group = group_get_for_requester(user=request.user, group_id=group_id)
        return Response(GroupSerializer(group).data)

    @extend_schema(
        summary="Rename one of my groups",
        request=GroupInputSerializer,
        responses={200: GroupSerializer, **INVALID, **REQUESTER, **NOT_MINE},
    )
    def patch(self, request: Request, group_id: int) -> Response:
        group = group_get_for_requester(user=request.user, group_id=group_id)
        data = GroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = group_rename(group=group, name=data.validated_data["name"])
        return Response(GroupSerializer(group).data)

    @extend_schema(
        summary="Delete one of my groups (its members and links go with it)",
        responses={204: None, **REQUESTER, **NOT_MINE},
    )
    def delete(self, request: Request, group_id: int) -> Response:
        group_delete(group=group_get_for_requester(user=request.user, group_id=group_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMembersView(generics.ListAPIView):
    permission_classes = [IsRequester]
    serializer_class = MemberSerializer

    @extend_schema(
        summary="The members of one of my groups",
        responses={200: MemberSerializer(many=True), **REQUESTER, **NOT_MINE},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        group = group_get_for_requester(user=self.request.user, group_id=self.kwargs["group_id"])
        return membership_list(group=group)

    @extend_schema(
        summary="Add a worker to one of my groups by username",
        request=MemberInputSerializer,
        responses={
            201: MemberSerializer,
            200: OpenApiResponse(MemberSerializer, description="Already a member."),
            **INVALID,
            **REQUESTER,
            **NOT_MINE,
        },
    )
    def post(self, request: Request, group_id: int) -> Response:
        group = group_get_for_requester(user=request.user, group_id=group_id)
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        added = membership_add(
            group=group, username=data.validated_data["username"], by=request.user
        )
        code = status.HTTP_201_CREATED if added.joined else status.HTTP_200_OK
        return Response(MemberSerializer(added.membership).data, status=code)


class GroupMemberView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Remove a worker from one of my groups",
        description="Its private projects disappear for them at once.",
        responses={204: None, **REQUESTER, **NOT_MINE},
    )
    def delete(self, request: Request, group_id: int, worker_id: int) -> Response:
        group = group_get_for_requester(user=request.user, group_id=group_id)
        membership_remove(group=group, worker_id=worker_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupInvitesView(generics.ListAPIView):
    permission_classes = [IsRequester]
    serializer_class = InviteSerializer

    @extend_schema(
        summary="The invite links of one of my groups (without their tokens)",
        responses={200: InviteSerializer(many=True), **REQUESTER, **NOT_MINE},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InviteLink.objects.none()
        group = group_get_for_requester(user=self.request.user, group_id=self.kwargs["group_id"])
        return invite_list(group=group)

    @extend_schema(
        summary="Make an invite link to one of my groups",
        description="The response holds the token and the full `url`, this once only.",
        request=InviteInputSerializer,
        responses={201: NewInviteSerializer, **INVALID, **REQUESTER, **NOT_MINE},
    )
    def post(self, request: Request, group_id: int) -> Response:
        group = group_get_for_requester(user=request.user, group_id=group_id)
        data = InviteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = invite_create(group=group, by=request.user, **data.validated_data)
        body = InviteSerializer(new.invite).data | {
            "token": new.token,
            "url": invite_url(new.token),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class InviteRevokeView(APIView):
    permission_classes = [IsRequester]

    @extend_schema(
        summary="Revoke an invite link of one of my groups",
        description="Nobody joins through it any more; those who joined stay. Again: no-op.",
        request=None,
        responses={200: InviteSerializer, **REQUESTER, **NOT_MINE},
    )
    def post(self, request: Request, group_id: int, invite_id: int) -> Response:
        group = group_get_for_requester(user=request.user, group_id=group_id)
        invite = invite_revoke(invite=invite_get(group=group, invite_id=invite_id))
        return Response(InviteSerializer(invite).data)


# --- Worker views ----------------------------------------------------------------------------


class JoinView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        summary="Join a group through an invite link's token",
        description="Joining a group I am already in is a no-op (200) and takes no use.",
        request=JoinInputSerializer,
        responses={
            201: JoinedSerializer,
            200: OpenApiResponse(JoinedSerializer, description="Already in the group."),
            **INVALID,
            **WORKER,
            404: OpenApiResponse(description="`invite_not_found`: no such link."),
            410: OpenApiResponse(
                description="`invite_expired`, `invite_revoked` or `invite_used_up`."
            ),
        },
        tags=["work"],
    )
    def post(self, request: Request) -> Response:
        data = JoinInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = invite_join(worker=request.user, token=data.validated_data["token"])
        body = MyGroupSerializer(result.membership).data | {"joined": result.joined}
        code = status.HTTP_201_CREATED if result.joined else status.HTTP_200_OK
        return Response(body, status=code)


class MyGroupsView(generics.ListAPIView):
    permission_classes = [IsWorker]
    serializer_class = MyGroupSerializer

    @extend_schema(
        summary="The groups I am in",
        responses={200: MyGroupSerializer(many=True), **WORKER},
        tags=["work"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return group_list_for_worker(worker=self.request.user)


class LeaveView(APIView):
    permission_classes = [IsWorker]

    @extend_schema(
        summary="Leave a group I am in",
        description="Its private projects disappear for me at once.",
        request=None,
        responses={
            204: None,
            **WORKER,
            404: OpenApiResponse(description="I am not in such a group."),
        },
        tags=["work"],
    )
    def post(self, request: Request, group_id: int) -> Response:
        membership_leave(worker=request.user, group_id=group_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("groups/", GroupListView.as_view(), name="groups"),
    path("groups/<int:group_id>/", GroupDetailView.as_view(), name="group"),
    path("groups/<int:group_id>/members/", GroupMembersView.as_view(), name="group-members"),
    path(
        "groups/<int:group_id>/members/<int:worker_id>/",
        GroupMemberView.as_view(),
        name="group-member",
    ),
    path("groups/<int:group_id>/invites/", GroupInvitesView.as_view(), name="group-invites"),
    path(
        "groups/<int:group_id>/invites/<int:invite_id>/revoke/",
        InviteRevokeView.as_view(),
        name="group-invite-revoke",
    ),
    path("work/invites/join/", JoinView.as_view(), name="work-invite-join"),
    path("work/groups/", MyGroupsView.as_view(), name="work-groups"),
    path("work/groups/<int:group_id>/leave/", LeaveView.as_view(), name="work-group-leave"),
]

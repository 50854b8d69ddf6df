"""Admin for the workers app: accounts, blocking by hand, qualifications, stats and the ledger.

Each model is registered once, in the module of its concern; importing them here is what
registers them (the admin's autodiscover imports this package).
"""

from apps.workers.admin import accounts, blocking, ledger  # noqa: F401

"""Session store: SQLite (WAL) with versioned migrations.

:class:`SessionStore` (and the SQLite code behind it) is imported when first asked for: the record models are all a
command needs to name a session until it opens the store.
"""

from typing import TYPE_CHECKING, Any

from containerkit.store.records import ArtifactInfo, ErrorRecord, JobRecord, SessionDetail, SessionInfo, StoreCounts

if TYPE_CHECKING:
    from containerkit.store.sessions import SessionStore


def __getattr__(name: str) -> Any:
    if name == "SessionStore":
        from containerkit.store.sessions import SessionStore

        return SessionStore
    raise AttributeError(name)


__all__ = ["ArtifactInfo", "ErrorRecord", "JobRecord", "SessionDetail", "SessionInfo", "SessionStore", "StoreCounts"]

"""Session store: SQLite (WAL) with versioned migrations."""

from containerkit.store.records import ArtifactInfo, ErrorRecord, JobRecord, SessionDetail, SessionInfo, StoreCounts
from containerkit.store.sessions import SessionStore

__all__ = ["ArtifactInfo", "ErrorRecord", "JobRecord", "SessionDetail", "SessionInfo", "SessionStore", "StoreCounts"]

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>The job store (PostgreSQL) could not be reached or refused the statement. Requests answer 503
/// <c>store_unavailable</c>; a running job keeps its lease only while it can renew it.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);

"""PostgreSQL: a connection pool with health checks and ONEX error codes (asyncpg)."""

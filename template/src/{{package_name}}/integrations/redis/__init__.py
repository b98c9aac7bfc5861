"""Redis: a cache client with health checks and ONEX error codes (redis.asyncio)."""

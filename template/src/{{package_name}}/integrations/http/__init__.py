"""HTTP client for the services this node calls (httpx)."""

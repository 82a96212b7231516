"""Who a caller is: the tokens of the HTTP API, kept in the store as their SHA-256 only."""

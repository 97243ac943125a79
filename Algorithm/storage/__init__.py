"""Storage: the SQLite gallery of registered identities and the Faiss vector index derived from it."""

"""The edges that run: Faust worker, importer, PostgreSQL repository, outbox relay and CLI."""

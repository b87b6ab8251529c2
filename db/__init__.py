"""Tables, engine and sessions, queries, migrations and reference-data loaders."""

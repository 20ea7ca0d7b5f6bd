"""The sync engine: state store, configuration, reconcile engine (imports mappings and connectors)."""

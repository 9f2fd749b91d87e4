"""Channel adapters (Zalo OA, Facebook Messenger): verify, parse, send."""

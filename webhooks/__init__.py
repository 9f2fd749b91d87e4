"""Channel adapters (Zalo OA, Facebook Messenger), each owning its webhook and its replies, and their
registry (registry.py)."""

"""Platform adapters: the only code that knows a chat platform's wire format."""

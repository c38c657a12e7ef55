"""exambot service core: configuration, storage, channels, dispatcher and the aiohttp app."""

__version__ = "0.1.0"

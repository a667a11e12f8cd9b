"""Vendor cloud clients: asyncio + aiohttp, no Home Assistant imports."""

"""LRTool engine server: engine, profile store, gRPC service, client and CLI.

Importing this package imports nothing heavy: the client stub
(`engine_server.client`) must stay free of numpy, the engine and the store.
"""

__version__ = "0.1.0"

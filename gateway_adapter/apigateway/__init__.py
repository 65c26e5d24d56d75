"""API Gateway's WebSocket API stand-in: the WebSocket API with its routes and authorizer
(websocket_api, routing, authorizer), the @connections management API and its SigV4 check
(management_api, sigv4), the connections (connection), the quotas (limits, aiohttp_frames),
the events Lambda receives (events), the access log (logs) and the aiohttp server (server).

Empty on purpose: importing one module does not import the server."""

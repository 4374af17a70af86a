"""Opens the console's port at start; everything behind it loads on the first request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from cloudlet.console.secret import ensure_secret

if TYPE_CHECKING:
    from cloudlet.config import Config
    from cloudlet.console.app import ConsoleApp
    from cloudlet.server import FrontDoor

log = logging.getLogger("cloudlet.console")

# Loopback only: the console is a door into everything the API serves.
CONSOLE_HOST = "127.0.0.1"
# A 6 MB Invoke payload, base64 in JSON, fits.
MAX_BODY = 16 * 1024 * 1024


class ConsoleListener:
    def __init__(self, front: FrontDoor, config: Config, secret: str) -> None:
        self.front = front
        self.config = config
        self.secret = secret
        self.port = config.console_port
        self.url = f"http://{CONSOLE_HOST}:{self.port}/"
        self._app: ConsoleApp | None = None
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._app is None:
            from cloudlet.console.app import ConsoleApp

            self._app = ConsoleApp(self.front, self.config, self.secret, CONSOLE_HOST, self.port)
        return await self._app.handle(request)

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, CONSOLE_HOST, self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def start_console(front: FrontDoor, config: Config) -> ConsoleListener | None:
    """The console listening, or None (said in the log) when its port is taken: the API serves on."""
    listener = ConsoleListener(front, config, ensure_secret(config.data_dir))
    try:
        await listener.start()
    except OSError as e:
        await listener.stop()
        log.warning("console not started on %s:%d: %s (set CLOUDLET_CONSOLE_PORT)", CONSOLE_HOST, config.console_port,
                    e.strerror or e)
        return None
    log.info("console on %s (`cloudlet console` prints its secret)", listener.url)
    return listener

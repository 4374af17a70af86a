"""cloudlet's logging: one log file in DATA_DIR/logs plus stderr."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_path(data_dir: Path) -> Path:
    return data_dir / "logs" / "cloudlet.log"


def setup_logging(data_dir: Path, level: str = "INFO", stderr: bool = True) -> Path:
    """Send the `cloudlet` loggers to DATA_DIR/logs/cloudlet.log (and stderr)."""
    path = log_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("cloudlet")
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    fmt = logging.Formatter(LOG_FORMAT)
    fh = logging.FileHandler(path, encoding="utf-8")
    fh.setFormatter(fmt)
    logger.addHandler(fh)
    if stderr:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        logger.addHandler(sh)
    logger.propagate = False
    return path

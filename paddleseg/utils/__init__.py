from . import logger

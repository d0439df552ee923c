"""Forecast consumes sales, stock, master data and promotions through one consumer (key order kept); sales and
stock events of a batch are applied in bulk, master data and promotions one by one."""
from services.forecast.handlers import TOPICS, dispatch
from services.forecast.history_batch import apply_batch

__all__ = ["TOPICS", "apply_batch", "dispatch"]

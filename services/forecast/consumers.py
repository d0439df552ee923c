"""Forecast consumes sales, stock, master data and promotions through one consumer (key order kept)."""
from services.forecast.handlers import TOPICS, dispatch

__all__ = ["TOPICS", "dispatch"]

"""`replenish up --demo` (docs/contract.md §8, §9): a generated world played through the public doors, live summary."""
from replenish.demo.chat import ChatSink
from replenish.demo.run import DemoResult, run_demo
from replenish.demo.world import Settings

__all__ = ["ChatSink", "DemoResult", "Settings", "run_demo"]

"""Pure orders core: PO states, consolidation, approvals, sending, supplier actions, receipts, delays."""

from .approvals import ApprovalRules, approve, edit_line, reject, required_approvals, submit
from .breaker import BreakerConfig, CircuitBreaker, allow, record_failure, record_success, retry_after
from .consolidation import add_reorder, known_timezone, order_quantity, po_id_for, window_closed, window_key
from .delays import delay_alerts, late_from, next_check_at, po_late_alert, unresponsive_alert
from .model import (
    STATUSES,
    SYSTEM,
    AuditEntry,
    IllegalTransition,
    PoLine,
    PurchaseOrder,
    Receipt,
    Reorder,
    Shipment,
    SupplierItem,
    ValidationError,
)
from .performance import Performance, by_supplier, by_supplier_item
from .receipts import ReceiptFlag, ReceiptOutcome, apply_receipt, cancel, reschedule
from .render import push_body, render_csv, snapshot
from .sending import (
    RetryPolicy,
    backoff_delay,
    idempotency_key,
    is_success,
    mark_delivered,
    mark_delivery_failed,
    resend,
    retry_schedule,
    send,
    should_retry,
    sign,
    verify,
)
from .states import TRANSITIONS, legal_from, transition
from .supplier import acknowledge, ship

__all__ = [
    "STATUSES", "SYSTEM", "TRANSITIONS", "ApprovalRules", "AuditEntry", "BreakerConfig", "CircuitBreaker",
    "IllegalTransition", "Performance", "PoLine", "PurchaseOrder", "Receipt", "ReceiptFlag", "ReceiptOutcome",
    "Reorder", "RetryPolicy", "Shipment", "SupplierItem", "ValidationError", "acknowledge", "add_reorder", "allow",
    "apply_receipt", "approve", "backoff_delay", "by_supplier", "by_supplier_item", "cancel", "delay_alerts",
    "edit_line", "idempotency_key", "is_success", "known_timezone", "late_from", "legal_from", "mark_delivered",
    "mark_delivery_failed", "next_check_at", "order_quantity", "po_id_for", "po_late_alert", "push_body",
    "record_failure", "record_success", "reject", "render_csv", "required_approvals", "reschedule", "resend",
    "retry_after", "retry_schedule", "send", "ship", "should_retry", "sign", "snapshot", "submit", "transition",
    "unresponsive_alert", "verify", "window_closed", "window_key",
]

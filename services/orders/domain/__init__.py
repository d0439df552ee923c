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
    DEFAULT_PUSH_SCHEDULE,
    DELIVERED,
    RETRY,
    SIGNATURE_TOLERANCE_S,
    STOP,
    PushSchedule,
    idempotency_key,
    is_success,
    legacy_schedule,
    mark_delivered,
    mark_delivery_failed,
    mark_delivery_retrying,
    next_attempt_at,
    nominal_attempts,
    parse_duration,
    parse_durations,
    planned_attempts,
    push_headers,
    push_verdict,
    resend,
    send,
    sign,
    signing_key,
    standard_signature,
    verify,
)
from .states import TRANSITIONS, legal_from, transition
from .supplier import acknowledge, ship

__all__ = [
    "DEFAULT_PUSH_SCHEDULE", "DELIVERED", "RETRY", "SIGNATURE_TOLERANCE_S", "STATUSES", "STOP", "SYSTEM",
    "TRANSITIONS", "ApprovalRules", "AuditEntry", "BreakerConfig", "CircuitBreaker", "IllegalTransition",
    "Performance", "PoLine", "PurchaseOrder", "PushSchedule", "Receipt", "ReceiptFlag", "ReceiptOutcome", "Reorder",
    "Shipment", "SupplierItem", "ValidationError", "acknowledge", "add_reorder", "allow", "apply_receipt",
    "approve", "by_supplier", "by_supplier_item", "cancel", "delay_alerts", "edit_line", "idempotency_key",
    "is_success", "known_timezone", "late_from", "legacy_schedule", "legal_from", "mark_delivered",
    "mark_delivery_failed", "mark_delivery_retrying", "next_attempt_at", "next_check_at", "nominal_attempts",
    "order_quantity", "parse_duration", "parse_durations", "planned_attempts", "po_id_for", "po_late_alert",
    "push_body", "push_headers", "push_verdict", "record_failure", "record_success", "reject", "render_csv",
    "required_approvals", "reschedule", "resend", "retry_after", "send", "ship", "sign", "signing_key", "snapshot",
    "standard_signature", "submit", "transition", "unresponsive_alert", "verify", "window_closed", "window_key",
]

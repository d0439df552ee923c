"""Pure policy core (stdlib, numpy, scipy): positions, reorders, alerts, rules, segmentation.

API for the service wiring:
- model: PolicyParams, DemandView, Stock(on_hand, on_order, backorder, arrivals), Position,
  ReorderDecision, AlertState, AlertDecision (decision.state() is what to remember per key).
- position.compute_position(sku, location, stock, demand, params, as_of) -> Position (docs/contract.md §4).
- reorder.decide_reorder(position, params, decision_day, supplier_id, donors=()) -> ReorderDecision | None;
  reorder.why_not(position, params) -> str; reorder.reorder_id(location, sku, day).
- alerts.evaluate_alerts(position, previous, *, config, unit_cost, last_sale_at, supplier_id, receivers,
  forced_types) -> list[AlertDecision]; keys "<type>:<location>:<sku>".
- rules.parse_rules(doc) -> RuleSet (raises RuleError(errors) with field paths);
  rules.apply_rules(ruleset, ctx, base_params, on) -> RuleOutcome(params, receivers, forced_alerts, matched);
  rules.policy_event_rule(data) -> rule dict for a docs/contract.md §3 `policy` event.
- segmentation: abc_classes, xyz_classes, demand_pattern, SegmentDefaults.service_level(abc, xyz).
- promotions.with_promotions(demand, promotions, as_of, days) -> DemandView raised on promotion days.
- bulk.bulk_positions(...) / bulk_order_quantities(...): vectorized recompute; formulas/targets: the math.
"""

"""The observation and event builders (arrears_kit.observations)."""

import pytest

from arrears_kit import Offer, OperationOffer, ProductOffer, observations as obs

JAN_1 = 1767225600


def a_resource(**overrides):
    fields = dict(resource="m-1", account="a-1", product="maxcompute",
                  lifecycle="maxcompute.payg-instance", state="active", since=JAN_1,
                  serving="yes", data="retained", billing="running", purchased_at=JAN_1,
                  operations={"run-task": True, "release": True, "renew": False})
    fields.update(overrides)
    return obs.resource(**fields)


def test_a_resource_observation_has_every_field_of_the_vocabulary():
    r = a_resource()
    assert r == {
        "resource": "m-1", "account": "a-1", "product": "maxcompute",
        "lifecycle": "maxcompute.payg-instance", "state": "active",
        "since": "2026-01-01T00:00:00Z", "serving": "yes", "data": "retained",
        "billing": "running", "overdue_since": None, "oldest_overdue_bill": None,
        "purchased_at": "2026-01-01T00:00:00Z", "expires_at": None,
        "operations": {"release": True, "renew": False, "run-task": True},
    }
    # Operations are written in name order, as arrears writes them.
    assert list(r["operations"]) == ["release", "renew", "run-task"]


def test_billing_method_is_written_only_when_given():
    assert "billing_method" not in a_resource()
    assert a_resource(billing_method="subscription")["billing_method"] == "subscription"


@pytest.mark.parametrize("field,value,message", [
    ("serving", "true", "`serving` must be one of yes, no, unspecified"),
    ("data", None, "`data` must be one of"),
    ("billing_method", "payg", "`billing_method` must be one of"),
    ("since", "2026-01-01", "`since`"),
    ("since", None, "`since` is required"),
    ("state", "", "`state` must be a non-empty string"),
    ("operations", ["run-task"], "`operations` must map operation ids"),
    ("operations", {"run-task": "yes"}, "`operations.run-task` must be true or false"),
])
def test_a_wrong_resource_field_is_named(field, value, message):
    with pytest.raises(ValueError, match="resource: " + message.replace("(", r"\(")):
        a_resource(**{field: value})


def test_an_account_defaults_its_available_credit_to_cash_plus_vouchers():
    a = obs.account(account="a-1", cash=-300, vouchers=500, overdue_since=JAN_1)
    assert a == {"account": "a-1", "cash": -300, "vouchers": 500, "available_credit": 200,
                 "overdue_since": "2026-01-01T00:00:00Z", "outstanding_bills": [],
                 "fee_operations": []}


@pytest.mark.parametrize("amount", [1.5, "100", True, None])
def test_money_is_whole_minor_units(amount):
    with pytest.raises(ValueError, match="`cash` must be an integer number of minor units"):
        obs.account(account="a-1", cash=amount)


def test_bills_check_status_and_attempts():
    b = obs.bill(bill="m-1/1", resource="m-1", amount=600, settlement_date=JAN_1,
                 status="overdue", attempts=1)
    assert b["next_attempt"] is None and b["status"] == "overdue"
    with pytest.raises(ValueError, match="`status` must be one of pending, overdue"):
        obs.bill(bill="m-1/1", resource="m-1", amount=600, settlement_date=JAN_1,
                 status="late", attempts=1)
    with pytest.raises(ValueError, match="`attempts` must not be negative"):
        obs.bill(bill="m-1/1", resource="m-1", amount=600, settlement_date=JAN_1,
                 status="overdue", attempts=-1)


def test_an_observation_holds_objects_only():
    o = obs.observation(at=JAN_1, accounts=[], resources=[a_resource()])
    assert o["at"] == "2026-01-01T00:00:00Z" and len(o["resources"]) == 1
    with pytest.raises(ValueError, match="`resources` must hold objects"):
        obs.observation(at=JAN_1, accounts=[], resources=["m-1"])


def test_events_carry_their_tag_and_wire_names():
    t = obs.transition(at=JAN_1, resource="m-1", lifecycle="maxcompute.payg-instance",
                       from_state="active", to_state="overdue", transition="becomes-overdue",
                       rule="maxcompute.payg.overdue-when-unpaid-at-due")
    assert t["event"] == "transition" and t["from"] == "active" and t["to"] == "overdue"
    n = obs.notification(at=JAN_1, account="a-1", notification="ecs.notify.credit-alert",
                         rule="ecs.prevent.credit-alert")
    assert n["resource"] is None
    d = obs.deduction(at=JAN_1, account="a-1", resource="m-1", bill="m-1/1", amount=600,
                      attempt=1, cause="scheduled", outcome="failed", rule="r")
    assert (d["event"], d["cause"], d["outcome"]) == ("deduction", "scheduled", "failed")
    with pytest.raises(ValueError, match="deduction: `cause` must be one of"):
        obs.deduction(at=JAN_1, account="a-1", resource="m-1", bill="m-1/1", amount=600,
                      attempt=1, cause="retry", outcome="failed", rule="r")


def test_an_operation_writes_its_error_code_only_when_given():
    allowed = obs.operation(at=JAN_1, account="a-1", resource="m-1", operation="run-task",
                            allowed=True)
    assert allowed["rule"] is None and allowed["reason"] is None and "error_code" not in allowed
    refused = obs.operation(at=JAN_1, account="a-1", resource="m-1", operation="run-task",
                            allowed=False, rule="maxcompute.locked.access-denied",
                            reason="not allowed while locked", error_code="ODPS-0420095")
    assert refused["error_code"] == "ODPS-0420095"


def test_every_event_builder_makes_its_event():
    common = dict(at=JAN_1, account="a-1")
    built = [
        obs.charge(resource="m-1", amount=1, bill="m-1/1", **common),
        obs.charge_skipped(resource="m-1", amount=1, rule="r", **common),
        obs.bill_settled(resource="m-1", bill="m-1/1", **common),
        obs.top_up(amount=1, **common),
        obs.voucher_granted(amount=1, **common),
        obs.payment(resource="m-1", operation="renew", cash=1, vouchers=0, **common),
        obs.refund(resource="w-1", amount=1, formula="f", rule="r", paid_cash=1, paid_voucher=0,
                   used_seconds=0, term_seconds=1, **common),
    ]
    assert [e["event"] for e in built] == ["charge", "charge_skipped", "bill_settled", "top_up",
                                          "voucher_granted", "payment", "refund"]
    assert all(e["at"] == "2026-01-01T00:00:00Z" for e in built)


def test_fee_operations_follow_the_offer():
    offer = Offer(products=(
        ProductOffer("ecs", "ECS", ("pay-as-you-go",),
                     (OperationOffer("purchase", True), OperationOffer("start", False)), True),
        ProductOffer("maxcompute", "MaxCompute", ("subscription",),
                     (OperationOffer("renew", True),), False),
    ))
    assert offer.fee_operations(False) == [
        {"product": "ecs", "operation": "purchase", "allowed": True},
        {"product": "maxcompute", "operation": "renew", "allowed": True},
    ]
    assert [f["allowed"] for f in offer.fee_operations(True)] == [False, True]
    assert offer.product("ecs").operation_ids == ["purchase", "start"]
    assert offer.product("emr") is None

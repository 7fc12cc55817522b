package orders

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/payments"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
)

// Payments: offline (cash or card at the till) and test tenders capture at
// once; WeChat Pay and Alipay tenders are recorded pending and captured by
// their provider's signed notification (see package payments). An order
// is paid when its captured tenders reach its total, and several tenders
// may share it (split tender). Refunds go back to the original tenders,
// the latest first.

// immediate reports whether a provider captures when the payment is made.
func immediate(provider string) bool { return payments.CapturesAtOnce(provider) }

func tradeNo(prefix string, id int64) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + strconv.FormatInt(id, 10) + "_" + hex.EncodeToString(b) // letters, digits and _ only: accepted by WeChat Pay and Alipay
}

// Pay records a tender for an order and answers with the tender and the
// state it left the order in (the whole order is Get's; leaving it out
// spares paying a read of the order). Paying an order that is no longer
// waiting for payment is a 409 naming its state (retry with the same
// Idempotency-Key to get the first answer again).
func (s *Service) Pay(ctx context.Context, id int64, in PayRequest) (PaymentResult, error) {
	var v errs.Validator
	v.OneOf(in.Provider, "provider", payments.Offline, payments.Test, payments.WeChat, payments.Alipay)
	v.Check(in.Amount >= 0, "amount", "out_of_range", "must not be negative")
	v.Check(len(in.Method) <= 30, "method", "too_long", "must be at most 30 bytes")
	if in.Provider == payments.Offline {
		v.OneOf(in.Method, "method", "cash", "card")
	}
	if err := v.Err(); err != nil {
		return PaymentResult{}, err
	}
	actor := auth.Actor(ctx)
	var res PaymentResult
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		res, err = s.payTx(tx, id, in, actor, s.now().UnixMilli())
		return err
	})
	if err != nil {
		return PaymentResult{}, err
	}
	return res, nil
}

// payTx records a tender in tx; immediate tenders are captured at once.
func (s *Service) payTx(tx *db.Tx, id int64, in PayRequest, actor string, at int64) (PaymentResult, error) {
	// One statement checks the state, takes the default amount (what is
	// still due) and records the tender; the capture below is the guard
	// against paying more than the total.
	status := PaymentPending
	var captured any
	if immediate(in.Provider) {
		status, captured = PaymentCaptured, at
	}
	var pid, amount int64
	trade := tradeNo("P", id)
	err := tx.QueryRow(`INSERT INTO payments (order_id, provider, method, amount, status, out_trade_no, created_at, captured_at, updated_at)
		SELECT id, ?, ?, CASE WHEN ? > 0 THEN ? ELSE total - paid END, ?, ?, ?, ?, ? FROM orders
		WHERE id = ? AND status = 'created' AND paid + (CASE WHEN ? > 0 THEN ? ELSE total - paid END) <= total AND paid < total
		RETURNING id, amount`,
		in.Provider, in.Method, in.Amount, in.Amount, string(status), trade, at, captured, at, id, in.Amount, in.Amount).Scan(&pid, &amount)
	if errors.Is(err, sql.ErrNoRows) {
		var st string
		var total, paid int64
		err := tx.QueryRow(`SELECT status, total, paid FROM orders WHERE id = ?`, id).Scan(&st, &total, &paid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return PaymentResult{}, ErrNotFound.Withf("no order %d", id)
		case err != nil:
			return PaymentResult{}, fmt.Errorf("orders: read order: %w", err)
		case Status(st) != Created:
			return PaymentResult{}, ErrState.Withf("order %s is %s: it takes no more payments", number(id), st).
				With("current_status", st).With("requested_status", string(Paid))
		}
		return PaymentResult{}, ErrOverpay.Withf("amount: %d fen is more than the %d fen still due", in.Amount, total-paid).With("field", "amount").With("due", total-paid)
	}
	if err != nil {
		return PaymentResult{}, fmt.Errorf("orders: insert payment: %w", err)
	}
	when := time.UnixMilli(at).UTC()
	res := PaymentResult{Payment: Payment{ID: pid, Provider: in.Provider, Method: in.Method, Amount: amount, Status: status,
		OutTradeNo: trade, CreatedAt: when}}
	if !immediate(in.Provider) {
		var mode string
		var st OrderState
		if err := tx.QueryRow(`SELECT status, mode, total, paid FROM orders WHERE id = ?`, id).Scan(&st.Status, &mode, &st.Total, &st.Paid); err != nil {
			return PaymentResult{}, fmt.Errorf("orders: read order: %w", err)
		}
		res.Order = st.of(id, fulfilment.Mode(mode))
		return res, s.ob.Append(tx, "payment.pending", number(id), map[string]any{"order": id, "payment": pid, "provider": in.Provider, "amount": amount})
	}
	res.Payment.CapturedAt = &when
	res.Order, err = s.capture(tx, id, pid, amount, actor, at)
	return res, err
}

// capture counts a captured payment towards its order and, when the order
// is then fully paid, moves it on in the same conditional UPDATE: to
// allocated (its stock was held at checkout), to presale when it waits for
// stock, or for a POS sale to paid (the till completes it). The order
// passes through paid either way, and both changes are recorded.
//
// It returns where the payment left the order.
func (s *Service) capture(tx *db.Tx, id, pid, amount int64, actor string, at int64) (OrderState, error) {
	var paid, total int64
	var mode string
	var presale, member, paidAt sql.NullInt64
	var status string
	err := tx.QueryRow(`UPDATE orders SET paid = paid + ?, updated_at = ?,
			status = CASE WHEN paid + ? < total THEN status WHEN mode = 'pos' THEN 'paid' WHEN presale_id IS NOT NULL THEN 'presale' ELSE 'allocated' END,
			paid_at = CASE WHEN paid + ? < total THEN paid_at ELSE ? END,
			expires_at = CASE WHEN paid + ? < total THEN expires_at ELSE NULL END
		WHERE id = ? AND status = 'created' AND paid + ? <= total
		RETURNING paid, total, mode, presale_id, status, member_id, paid_at`, amount, at, amount, amount, at, amount, id, amount).
		Scan(&paid, &total, &mode, &presale, &status, &member, &paidAt)
	if errors.Is(err, sql.ErrNoRows) {
		var st string
		_ = tx.QueryRow(`SELECT status FROM orders WHERE id = ?`, id).Scan(&st)
		return OrderState{}, ErrState.Withf("order %s is %s and takes no more payments", number(id), st).With("current_status", st)
	}
	if err != nil {
		return OrderState{}, fmt.Errorf("orders: count payment: %w", err)
	}
	st := OrderState{Status: Status(status), Total: total, Paid: paid, PaidAt: msPtr(paidAt)}.of(id, fulfilment.Mode(mode))
	if paid < total {
		return st, s.ob.Append(tx, "payment.captured", number(id), map[string]any{"order": id, "payment": pid, "amount": amount, "paid": paid, "total": total})
	}
	if member.Valid {
		if err := s.loyaltyEvent(tx, id, at, func(l Loyalty, f OrderFacts) error { return l.OrderPaid(tx, f) }); err != nil {
			return OrderState{}, err
		}
	}
	// The order.paid event names the payment that completed it.
	switch Status(status) {
	case PresaleWait:
		return st, s.changedPath(tx, id, "waiting for the presale's stock", actor, at, Created, Paid, PresaleWait)
	case Allocated:
		return st, s.changedPath(tx, id, "stock held at checkout", actor, at, Created, Paid, Allocated)
	}
	note := fmt.Sprintf("payment %d", pid)
	if pid == 0 {
		note = "nothing to pay"
	}
	return st, s.changedPath(tx, id, note, actor, at, Created, Paid)
}

// Refund gives money back to the order's tenders, the latest first.
func (s *Service) Refund(ctx context.Context, id int64, in RefundRequest) (Order, error) {
	var v errs.Validator
	v.Range(in.Amount, 1, 1<<50, "amount")
	v.Required(in.Reason, "reason")
	v.Check(len(in.Reason) <= 500, "reason", "too_long", "must be at most 500 bytes")
	if err := v.Err(); err != nil {
		return Order{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		if err := s.loyaltyRefund(tx, id, in.Amount, at); err != nil {
			return err
		}
		return s.refundTx(tx, id, nil, in.Amount, in.Reason, auth.Actor(ctx), at)
	})
	if err != nil {
		return Order{}, err
	}
	return s.Get(ctx, id)
}

// refundTx refunds amount over the order's captured payments in tx.
// Offline and test refunds succeed at once; WeChat Pay and Alipay refunds
// stay pending until their provider's notification.
func (s *Service) refundTx(tx *db.Tx, id int64, afterSale *int64, amount int64, reason, actor string, at int64) error {
	rows, err := tx.Query(`SELECT id, provider, amount - refunded FROM payments WHERE order_id = ? AND status = 'captured' AND refunded < amount ORDER BY id DESC`, id)
	type tender struct {
		id       int64
		provider string
		left     int64
	}
	ts, err := db.Collect(func(sc db.Scanner) (tender, error) {
		var t tender
		return t, sc.Scan(&t.id, &t.provider, &t.left)
	})(rows, err)
	if err != nil {
		return fmt.Errorf("orders: refundable payments: %w", err)
	}
	var left int64
	for _, t := range ts {
		left += t.left
	}
	if amount > left {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM orders WHERE id = ?`, id).Scan(&n); err == nil && n == 0 {
			return ErrNotFound.Withf("no order %d", id)
		}
		return ErrRefundTooLarge.Withf("amount: %d fen is more than the %d fen paid and not yet refunded", amount, left).
			With("field", "amount").With("refundable", left)
	}
	var done int64
	for _, t := range ts {
		if amount == 0 {
			break
		}
		part := min(amount, t.left)
		res, err := tx.Exec(`UPDATE payments SET refunded = refunded + ?, updated_at = ? WHERE id = ? AND refunded + ? <= amount`, part, at, t.id, part)
		if err != nil {
			return fmt.Errorf("orders: refund payment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.Conflict, "concurrent_refund", "payment %d changed concurrently; retry", t.id)
		}
		status := "pending"
		if immediate(t.provider) {
			status = "succeeded"
			done += part
		}
		var rid int64
		if err := tx.QueryRow(`INSERT INTO refunds (payment_id, order_id, after_sale_id, amount, reason, status, out_refund_no, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, t.id, id, afterSale, part, reason, status, tradeNo("R", id), at, at).Scan(&rid); err != nil {
			return fmt.Errorf("orders: insert refund: %w", err)
		}
		if err := s.ob.Append(tx, "payment.refund_"+map[bool]string{true: "succeeded", false: "pending"}[status == "succeeded"], number(id),
			map[string]any{"order": id, "payment": t.id, "refund": rid, "amount": part, "reason": reason}); err != nil {
			return err
		}
		amount -= part
	}
	if done > 0 {
		if _, err := tx.Exec(`UPDATE orders SET refunded = refunded + ?, updated_at = ? WHERE id = ?`, done, at, id); err != nil {
			return fmt.Errorf("orders: count refund: %w", err)
		}
	}
	return nil
}

// Notify applies a verified provider notification, once: a repeated
// notification (same provider and id) or one for an already settled
// payment changes nothing.
func (s *Service) Notify(ctx context.Context, n payments.Notification) error {
	if n.Kind == payments.KindPending {
		return nil
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		at := s.now().UnixMilli()
		var nid int64
		err := tx.QueryRow(`INSERT INTO payment_notifications (provider, notify_id, payload, outcome, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (provider, notify_id) DO NOTHING RETURNING id`, n.Provider, n.NotifyID, n.Raw, n.Kind, at).Scan(&nid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // seen before
		}
		if err != nil {
			return fmt.Errorf("orders: record notification: %w", err)
		}
		switch n.Kind {
		case "payment", "closed":
			var pid, order, amount int64
			var provider string
			err := tx.QueryRow(`SELECT id, order_id, amount, provider FROM payments WHERE out_trade_no = ?`, n.OutTradeNo).Scan(&pid, &order, &amount, &provider)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrPaymentNF.Withf("no payment %q", n.OutTradeNo)
			}
			if err != nil {
				return err
			}
			if provider != n.Provider {
				return errs.E(errs.Invalid, "wrong_provider", "payment %s belongs to %s, not %s", n.OutTradeNo, provider, n.Provider)
			}
			if n.Kind == "closed" {
				_, err := tx.Exec(`UPDATE payments SET status = 'failed', updated_at = ? WHERE id = ? AND status = 'pending'`, at, pid)
				return err
			}
			if n.Amount != amount {
				return errs.E(errs.Invalid, "amount_mismatch", "payment %s is for %d fen, the notification says %d", n.OutTradeNo, amount, n.Amount)
			}
			res, err := tx.Exec(`UPDATE payments SET status = 'captured', provider_ref = ?, captured_at = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'cancelled')`,
				n.ProviderRef, at, at, pid)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return nil // already captured (or failed)
			}
			_, err = s.capture(tx, order, pid, amount, n.Provider, at)
			if !errors.Is(err, ErrState) {
				return err
			}
			// The order was cancelled, or paid by another tender, before the
			// provider reported this payment: the money goes back in full.
			return s.strayRefund(tx, order, pid, amount, at)
		case "refund", "refund_failed":
			var rid, order, amount, pid int64
			err := tx.QueryRow(`SELECT id, order_id, amount, payment_id FROM refunds WHERE out_refund_no = ? AND status = 'pending'`, n.OutRefundNo).
				Scan(&rid, &order, &amount, &pid)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // unknown or settled
			}
			if err != nil {
				return err
			}
			if n.Kind == "refund_failed" {
				if _, err := tx.Exec(`UPDATE refunds SET status = 'failed', updated_at = ? WHERE id = ?`, at, rid); err != nil {
					return err
				}
				if _, err := tx.Exec(`UPDATE payments SET refunded = refunded - ?, updated_at = ? WHERE id = ?`, amount, at, pid); err != nil {
					return err
				}
				return s.ob.Append(tx, "payment.refund_failed", number(order), map[string]any{"order": order, "refund": rid, "amount": amount})
			}
			if _, err := tx.Exec(`UPDATE refunds SET status = 'succeeded', provider_ref = ?, updated_at = ? WHERE id = ?`, n.RefundRef, at, rid); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE orders SET refunded = refunded + ?, updated_at = ? WHERE id = ?
				AND (SELECT counted FROM payments WHERE id = ?)`, amount, at, order, pid); err != nil {
				return err
			}
			return s.ob.Append(tx, "payment.refund_succeeded", number(order), map[string]any{"order": order, "refund": rid, "amount": amount})
		}
		return errs.E(errs.Invalid, "unknown_notification", "notification kind %q", n.Kind)
	})
}

// strayRefund records a payment that arrived after its order closed as
// not counted towards the order, and refunds it in full (pending until the
// provider's refund notification).
func (s *Service) strayRefund(tx *db.Tx, order, pid, amount, at int64) error {
	if _, err := tx.Exec(`UPDATE payments SET counted = FALSE, refunded = amount, updated_at = ? WHERE id = ?`, at, pid); err != nil {
		return fmt.Errorf("orders: stray payment: %w", err)
	}
	var rid int64
	if err := tx.QueryRow(`INSERT INTO refunds (payment_id, order_id, amount, reason, status, out_refund_no, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING id`, pid, order, amount, "paid after the order closed: returned to the payer",
		tradeNo("R", order), at, at).Scan(&rid); err != nil {
		return fmt.Errorf("orders: stray refund: %w", err)
	}
	return s.ob.Append(tx, "payment.refund_pending", number(order), map[string]any{"order": order, "payment": pid, "refund": rid, "amount": amount,
		"reason": "paid after the order closed"})
}

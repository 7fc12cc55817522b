package server

import (
	"net/http"

	"github.com/omni-retail/omni/internal/analytics"
	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/events"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/orders"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/web"
)

// routes lists every HTTP route of Omni. The OpenAPI document is generated
// from this list, and a test checks that both agree with the router.
func routes(a *App) []Route {
	const (
		GET, POST, PUT, PATCH, DELETE = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	m := a.Modules
	rs := []Route{
		// ── system ──────────────────────────────────────────────────────
		{Method: GET, Path: "/healthz", Tag: "system", Summary: "Liveness: the process answers", Perm: auth.Public, Out: Health{}, Handler: a.healthz},
		{Method: GET, Path: "/readyz", Tag: "system", Summary: "Readiness: the store answers with this binary's schema", Perm: auth.Public, Out: Health{}, Handler: a.readyz},
		{Method: GET, Path: "/metrics", Tag: "system", Summary: "Prometheus metrics", Perm: auth.Public, Out: "", OutType: "text/plain", Handler: a.metrics},
		{Method: GET, Path: "/api/v1/openapi.json", Tag: "system", Summary: "This API's OpenAPI 3.1 description", Perm: auth.Public, Out: map[string]any{}, Handler: a.openapiDoc},
		{Method: GET, Path: "/api/v1/version", Tag: "system", Summary: "Binary and schema version", Perm: auth.Public, Out: VersionInfo{}, Handler: a.version},
		{Method: POST, Path: "/api/v1/api-keys", Tag: "access", Summary: "Issue an API key (its secret is shown only in this answer)", Perm: auth.AdminOnly, In: auth.NewKey{}, Out: CreatedKey{}, Status: 201, Handler: a.createKey},
		{Method: GET, Path: "/api/v1/api-keys", Tag: "access", Summary: "List API keys", Perm: auth.AdminOnly, Out: web.List[auth.Key]{}, Handler: a.listKeys},
		{Method: DELETE, Path: "/api/v1/api-keys/{id}", Tag: "access", Summary: "Revoke an API key", Perm: auth.AdminOnly, Out: auth.Key{}, Handler: a.revokeKey},

		// ── catalog ─────────────────────────────────────────────────────
		// (catalog routes)
		{Method: GET, Path: "/api/v1/styles", Tag: "catalog", Summary: "List styles (search q in code and name; filters; paged by code)", Perm: auth.Read, Params: catalog.StyleListParams{}, Out: web.List[catalog.Style]{}, Handler: m.CatalogH.ListStyles},
		{Method: POST, Path: "/api/v1/styles", Tag: "catalog", Summary: "Create a style, optionally with its SKUs (409 duplicate_code / duplicate_barcode)", Perm: auth.Manage, Idempotent: true, In: catalog.NewStyle{}, Out: catalog.Style{}, Status: 201, Handler: m.CatalogH.CreateStyle},
		{Method: GET, Path: "/api/v1/styles/{code}", Tag: "catalog", Summary: "Get a style with its SKUs", Perm: auth.Read, Out: catalog.Style{}, Handler: m.CatalogH.GetStyle},
		{Method: PATCH, Path: "/api/v1/styles/{code}", Tag: "catalog", Summary: "Change some fields of a style", Perm: auth.Manage, In: catalog.StylePatch{}, Out: catalog.Style{}, Handler: m.CatalogH.UpdateStyle},
		{Method: POST, Path: "/api/v1/styles/{code}/skus", Tag: "catalog", Summary: "Add a SKU (colour × size) to a style (409 duplicate_code / duplicate_barcode / duplicate_variant)", Perm: auth.Manage, Idempotent: true, In: catalog.NewSKU{}, Out: catalog.SKU{}, Status: 201, Handler: m.CatalogH.AddSKU},
		{Method: GET, Path: "/api/v1/skus", Tag: "catalog", Summary: "List SKUs (search q in code, style name and barcode; barcode= for an exact scan; paged by code)", Perm: auth.Read, Params: catalog.SKUListParams{}, Out: web.List[catalog.SKU]{}, Handler: m.CatalogH.ListSKUs},
		{Method: GET, Path: "/api/v1/skus/{code}", Tag: "catalog", Summary: "Get a SKU", Perm: auth.Read, Out: catalog.SKU{}, Handler: m.CatalogH.GetSKU},
		{Method: PATCH, Path: "/api/v1/skus/{code}", Tag: "catalog", Summary: "Change a SKU's list price, cost, barcode or active flag", Perm: auth.Manage, In: catalog.SKUPatch{}, Out: catalog.SKU{}, Handler: m.CatalogH.UpdateSKU},
		// Not Idempotent: the body may exceed the idempotency layer's 1 MB, and an upsert import may be repeated safely.
		{Method: POST, Path: "/api/v1/catalog/import", Tag: "catalog", Summary: "Import styles and SKUs from CSV, all lines or none (422 lists every bad line and column)", Perm: auth.Manage, In: catalog.CSVBody(""), InType: "text/csv", Out: catalog.ImportResult{}, Handler: m.CatalogH.Import},
		{Method: GET, Path: "/api/v1/catalog/export", Tag: "catalog", Summary: "Export the catalog as CSV (the import format)", Perm: auth.Read, Params: catalog.ExportParams{}, Out: "", OutType: "text/csv", Handler: m.CatalogH.Export},

		// ── store network ───────────────────────────────────────────────
		// (network routes)
		{Method: GET, Path: "/api/v1/locations", Tag: "network", Summary: "List locations (filters, or nearest first with near=lat,lng)", Perm: auth.Read, Params: network.LocationListParams{}, Out: web.List[network.ListedLocation]{}, Handler: m.NetworkH.ListLocations},
		{Method: POST, Path: "/api/v1/locations", Tag: "network", Summary: "Create a location (store or warehouse)", Perm: auth.Manage, Idempotent: true, In: network.NewLocation{}, Out: network.Location{}, Status: 201, Handler: m.NetworkH.CreateLocation},
		{Method: GET, Path: "/api/v1/locations/{code}", Tag: "network", Summary: "Get a location", Perm: auth.Read, Out: network.Location{}, Handler: m.NetworkH.GetLocation},
		{Method: PATCH, Path: "/api/v1/locations/{code}", Tag: "network", Summary: "Change some fields of a location", Perm: auth.Manage, In: network.LocationPatch{}, Out: network.Location{}, Handler: m.NetworkH.UpdateLocation},
		{Method: GET, Path: "/api/v1/channels", Tag: "network", Summary: "List sales channels with their locations", Perm: auth.Read, Params: network.ChannelListParams{}, Out: web.List[network.Channel]{}, Handler: m.NetworkH.ListChannels},
		{Method: POST, Path: "/api/v1/channels", Tag: "network", Summary: "Create a sales channel", Perm: auth.Manage, Idempotent: true, In: network.NewChannel{}, Out: network.Channel{}, Status: 201, Handler: m.NetworkH.CreateChannel},
		{Method: GET, Path: "/api/v1/channels/{code}", Tag: "network", Summary: "Get a sales channel", Perm: auth.Read, Out: network.Channel{}, Handler: m.NetworkH.GetChannel},
		{Method: PATCH, Path: "/api/v1/channels/{code}", Tag: "network", Summary: "Change a channel's name, safety stock, share cap or state", Perm: auth.Manage, In: network.ChannelPatch{}, Out: network.Channel{}, Handler: m.NetworkH.UpdateChannel},
		{Method: PUT, Path: "/api/v1/channels/{code}/locations", Tag: "network", Summary: "Replace the locations serving a channel", Perm: auth.Manage, In: network.ChannelLocations{}, Out: network.Channel{}, Handler: m.NetworkH.SetChannelLocations},

		// ── inventory ───────────────────────────────────────────────────
		// (inventory routes)
		{Method: GET, Path: "/api/v1/inventory/levels", Tag: "inventory", Summary: "List stock levels (on hand, reserved, in transit, available) by SKU, style or location", Perm: auth.Read, Params: inventory.LevelFilter{}, Out: web.List[inventory.Level]{}, Handler: m.InventoryH.Levels},
		{Method: GET, Path: "/api/v1/inventory/levels/{sku}/{location}", Tag: "inventory", Summary: "One SKU's stock at one location", Perm: auth.Read, Params: inventory.LevelPath{}, Out: inventory.Level{}, Handler: m.InventoryH.Level},
		{Method: PATCH, Path: "/api/v1/inventory/levels/{sku}/{location}", Tag: "inventory", Summary: "Set a level's safety stock and low-stock threshold", Perm: auth.Manage, Params: inventory.LevelPath{}, In: inventory.SettingsRequest{}, Out: inventory.Level{}, Handler: m.InventoryH.Settings},
		{Method: POST, Path: "/api/v1/inventory/movements", Tag: "inventory", Summary: "Post receipts, returns, direct sales or adjustments at a location (all lines or none)", Perm: auth.Write, Idempotent: true, In: inventory.PostRequest{}, Out: inventory.PostResult{}, Status: 201, Handler: m.InventoryH.Post},
		{Method: GET, Path: "/api/v1/inventory/movements", Tag: "inventory", Summary: "Read the append-only stock ledger", Perm: auth.Read, Params: inventory.MovementFilter{}, Out: web.List[inventory.Movement]{}, Handler: m.InventoryH.Movements},
		{Method: POST, Path: "/api/v1/inventory/reservations", Tag: "inventory", Summary: "Reserve stock for a channel (never oversells; 409 insufficient_stock with the quantity available)", Perm: auth.Write, Idempotent: true, In: inventory.ReserveRequest{}, Out: inventory.Reservation{}, Status: 201, Handler: m.InventoryH.Reserve},
		{Method: GET, Path: "/api/v1/inventory/reservations/{id}", Tag: "inventory", Summary: "A reservation and its lines", Perm: auth.Read, Params: inventory.IDPath{}, Out: inventory.Reservation{}, Handler: m.InventoryH.Reservation},
		{Method: POST, Path: "/api/v1/inventory/reservations/{id}/confirm", Tag: "inventory", Summary: "Confirm a reservation: its units leave as a sale", Perm: auth.Write, Idempotent: true, Params: inventory.IDPath{}, Out: inventory.Reservation{}, Handler: m.InventoryH.Confirm},
		{Method: POST, Path: "/api/v1/inventory/reservations/{id}/release", Tag: "inventory", Summary: "Release a reservation's units", Perm: auth.Write, Idempotent: true, Params: inventory.IDPath{}, In: inventory.ReleaseRequest{}, Out: inventory.Reservation{}, Handler: m.InventoryH.Release},
		{Method: GET, Path: "/api/v1/inventory/availability", Tag: "inventory", Summary: "Available to promise for a channel, nearest locations first when a delivery point is given", Perm: auth.Read, Params: inventory.ATPRequest{}, Out: inventory.ATP{}, Handler: m.InventoryH.Availability},
		{Method: POST, Path: "/api/v1/inventory/transfers", Tag: "inventory", Summary: "Request a transfer between locations (reserves at the source)", Perm: auth.Write, Idempotent: true, In: inventory.TransferRequest{}, Out: inventory.Transfer{}, Status: 201, Handler: m.InventoryH.CreateTransfer},
		{Method: GET, Path: "/api/v1/inventory/transfers", Tag: "inventory", Summary: "List transfers, newest first", Perm: auth.Read, Params: inventory.TransferFilter{}, Out: web.List[inventory.Transfer]{}, Handler: m.InventoryH.Transfers},
		{Method: GET, Path: "/api/v1/inventory/transfers/{id}", Tag: "inventory", Summary: "A transfer and its lines", Perm: auth.Read, Params: inventory.IDPath{}, Out: inventory.Transfer{}, Handler: m.InventoryH.Transfer},
		{Method: POST, Path: "/api/v1/inventory/transfers/{id}/ship", Tag: "inventory", Summary: "Ship a transfer: units leave the source and are in transit", Perm: auth.Write, Idempotent: true, Params: inventory.IDPath{}, Out: inventory.Transfer{}, Handler: m.InventoryH.ShipTransfer},
		{Method: POST, Path: "/api/v1/inventory/transfers/{id}/receive", Tag: "inventory", Summary: "Receive a transfer at the destination (shortfalls are booked)", Perm: auth.Write, Idempotent: true, Params: inventory.IDPath{}, In: inventory.ReceiveRequest{}, Out: inventory.Transfer{}, Handler: m.InventoryH.ReceiveTransfer},
		{Method: POST, Path: "/api/v1/inventory/transfers/{id}/cancel", Tag: "inventory", Summary: "Cancel a requested transfer and release its hold", Perm: auth.Write, Idempotent: true, Params: inventory.IDPath{}, Out: inventory.Transfer{}, Handler: m.InventoryH.CancelTransfer},
		{Method: POST, Path: "/api/v1/inventory/counts", Tag: "inventory", Summary: "Post a stock count; differences are booked as count movements", Perm: auth.Write, Idempotent: true, In: inventory.CountRequest{}, Out: inventory.CountResult{}, Status: 201, Handler: m.InventoryH.Count},
		{Method: GET, Path: "/api/v1/inventory/alerts", Tag: "inventory", Summary: "Low-stock alerts", Perm: auth.Read, Params: inventory.AlertFilter{}, Out: web.List[inventory.Alert]{}, Handler: m.InventoryH.Alerts},
		{Method: POST, Path: "/api/v1/inventory/alerts/{id}/acknowledge", Tag: "inventory", Summary: "Acknowledge a low-stock alert", Perm: auth.Write, Params: inventory.IDPath{}, Out: inventory.Alert{}, Handler: m.InventoryH.AcknowledgeAlert},
		{Method: GET, Path: "/api/v1/inventory/ledger/check", Tag: "inventory", Summary: "Audit: every level equals the sum of its movements", Perm: auth.Manage, Out: inventory.LedgerReport{}, Handler: m.InventoryH.Ledger},
		{Method: GET, Path: "/api/v1/inventory/turnover", Tag: "inventory", Summary: "Inventory turnover: sell-through, stock-to-sales, turnover days, stock age and lifecycle by SKU, style, category, location or channel, with alerts", Perm: auth.Read, Params: inventory.TurnoverRequest{}, Out: inventory.TurnoverReport{}, Handler: m.InventoryH.Turnover},

		// ── orders ──────────────────────────────────────────────────────
		// (orders routes)
		{Method: POST, Path: "/api/v1/orders", Tag: "orders", Summary: "Place an order: priced from the catalog, routed (decision recorded), stock held until paid (422/409 name the field and the nearest options)", Perm: auth.Write, Idempotent: true, In: orders.CheckoutRequest{}, Out: orders.Order{}, Status: 201, Handler: m.OrdersH.Checkout},
		{Method: GET, Path: "/api/v1/orders", Tag: "orders", Summary: "List orders, newest first (a store key sees its store's)", Perm: auth.Read, Params: orders.ListParams{}, Out: web.List[orders.Order]{}, Handler: m.OrdersH.List},
		{Method: GET, Path: "/api/v1/orders/{id}", Tag: "orders", Summary: "An order with its lines, routing decision, payments, refunds, shipments and history", Perm: auth.Read, Params: orders.IDPath{}, Out: orders.Order{}, Handler: m.OrdersH.Get},
		{Method: POST, Path: "/api/v1/orders/{id}/payments", Tag: "orders", Summary: "Pay (part of) an order: offline and test tenders capture at once, WeChat Pay and Alipay on their notification (409 when no longer payable)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.PayRequest{}, Out: orders.Order{}, Handler: m.OrdersH.Pay},
		{Method: POST, Path: "/api/v1/orders/{id}/refunds", Tag: "orders", Summary: "Refund to the original tenders, latest first (422 above what was paid)", Perm: auth.Manage, Idempotent: true, Params: orders.IDPath{}, In: orders.RefundRequest{}, Out: orders.Order{}, Handler: m.OrdersH.Refund},
		{Method: POST, Path: "/api/v1/orders/{id}/cancel", Tag: "orders", Summary: "Cancel an order before it leaves: stock released, payments refunded (409 names the state)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.CancelRequest{}, Out: orders.Order{}, Handler: m.OrdersH.Cancel},
		{Method: POST, Path: "/api/v1/orders/{id}/pick", Tag: "orders", Summary: "Start picking an allocated order", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, Out: orders.Order{}, Handler: m.OrdersH.Pick},
		{Method: POST, Path: "/api/v1/orders/{id}/ready", Tag: "orders", Summary: "A pickup order is ready at its store", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, Out: orders.Order{}, Handler: m.OrdersH.Ready},
		{Method: POST, Path: "/api/v1/orders/{id}/pickup", Tag: "orders", Summary: "Hand a pickup order over against its pickup code (核销)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.PickupRequest{}, Out: orders.Order{}, Handler: m.OrdersH.HandOver},
		{Method: POST, Path: "/api/v1/orders/{id}/complete", Tag: "orders", Summary: "Complete a picked-up or delivered order", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, Out: orders.Order{}, Handler: m.OrdersH.Complete},
		{Method: POST, Path: "/api/v1/orders/{id}/shipments", Tag: "orders", Summary: "Ship held units (all, or some lines for a partial shipment)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.ShipRequest{}, Out: orders.Shipment{}, Status: 201, Handler: m.OrdersH.Ship},
		{Method: GET, Path: "/api/v1/shipments/late", Tag: "orders", Summary: "Shipments past their promise", Perm: auth.Read, Out: web.List[orders.Shipment]{}, Handler: m.OrdersH.Late},
		{Method: GET, Path: "/api/v1/shipments/{id}", Tag: "orders", Summary: "A shipment with its tracking timeline", Perm: auth.Read, Params: orders.IDPath{}, Out: orders.Shipment{}, Handler: m.OrdersH.Shipment},
		{Method: POST, Path: "/api/v1/shipments/{id}/events", Tag: "orders", Summary: "Push a carrier tracking event (物流轨迹); delivered events close the shipment", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.TrackingEvent{}, Out: orders.Shipment{}, Handler: m.OrdersH.Track},
		{Method: POST, Path: "/api/v1/pos/sales", Tag: "orders", Summary: "A till sale in one step: scanned items, tenders, stock out of the store", Perm: auth.Write, Idempotent: true, In: orders.SaleRequest{}, Out: orders.Order{}, Status: 201, Handler: m.OrdersH.Sell},
		{Method: POST, Path: "/api/v1/presales", Tag: "orders", Summary: "Open a presale (预售) of a style against an expected receipt, with a cap", Perm: auth.Manage, Idempotent: true, In: orders.NewPresale{}, Out: orders.Presale{}, Status: 201, Handler: m.OrdersH.CreatePresale},
		{Method: GET, Path: "/api/v1/presales", Tag: "orders", Summary: "List presales with their waiting orders", Perm: auth.Read, Out: web.List[orders.Presale]{}, Handler: m.OrdersH.Presales},
		{Method: POST, Path: "/api/v1/presales/{id}/close", Tag: "orders", Summary: "Stop selling a presale", Perm: auth.Manage, Params: orders.IDPath{}, Out: orders.Presale{}, Handler: m.OrdersH.ClosePresale},
		{Method: GET, Path: "/api/v1/channels/{code}/order-settings", Tag: "orders", Summary: "A channel's order settings: routing strategy, unpaid time, return policy", Perm: auth.Read, Params: orders.ChannelPath{}, Out: orders.Settings{}, Handler: m.OrdersH.Settings},
		{Method: PUT, Path: "/api/v1/channels/{code}/order-settings", Tag: "orders", Summary: "Replace a channel's order settings", Perm: auth.Manage, Params: orders.ChannelPath{}, In: orders.Settings{}, Out: orders.Settings{}, Handler: m.OrdersH.PutSettings},
		{Method: POST, Path: "/api/v1/payments/notify/{provider}", Tag: "orders", Summary: "WeChat Pay / Alipay signed payment and refund notifications (the signature authenticates; answered in the provider's format)", Perm: auth.Public, Params: orders.ProviderPath{}, In: map[string]any{}, Out: "", OutType: "text/plain", Handler: m.OrdersH.Notify},

		// ── after-sales ─────────────────────────────────────────────────
		{Method: POST, Path: "/api/v1/orders/{id}/after-sales", Tag: "after-sales", Summary: "Request a return or exchange (一键退换货) of handed-over units under the channel's policy (422 return_window_closed names the window; 422 more_than_returnable)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.AfterSaleRequest{}, Out: orders.AfterSale{}, Status: 201, Handler: m.OrdersH.RequestAfterSale},
		{Method: GET, Path: "/api/v1/after-sales", Tag: "after-sales", Summary: "List after-sale requests, newest first; overdue=true: requests past their 24-hour SLA, oldest due first", Perm: auth.Read, Params: orders.AfterSaleListParams{}, Out: web.List[orders.AfterSale]{}, Handler: m.OrdersH.AfterSales},
		{Method: GET, Path: "/api/v1/after-sales/{id}", Tag: "after-sales", Summary: "An after-sale request with its lines", Perm: auth.Read, Params: orders.IDPath{}, Out: orders.AfterSale{}, Handler: m.OrdersH.AfterSale},
		{Method: POST, Path: "/api/v1/after-sales/{id}/approve", Tag: "after-sales", Summary: "Approve a requested after-sale (409 names the current state)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, Out: orders.AfterSale{}, Handler: m.OrdersH.ApproveAfterSale},
		{Method: POST, Path: "/api/v1/after-sales/{id}/reject", Tag: "after-sales", Summary: "Reject a requested after-sale with a reason", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.AfterSaleDecision{}, Out: orders.AfterSale{}, Handler: m.OrdersH.RejectAfterSale},
		{Method: POST, Path: "/api/v1/after-sales/{id}/receive", Tag: "after-sales", Summary: "Receive an approved after-sale's goods at a location, sellable or damaged (written off)", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.AfterSaleReceipt{}, Out: orders.AfterSale{}, Handler: m.OrdersH.ReceiveAfterSale},
		{Method: POST, Path: "/api/v1/after-sales/{id}/complete", Tag: "after-sales", Summary: "Complete a received after-sale: refund a return to the original tenders, or place an exchange's free replacement order", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.AfterSaleCompletion{}, Out: orders.AfterSale{}, Handler: m.OrdersH.CompleteAfterSale},
		{Method: POST, Path: "/api/v1/after-sales/{id}/cancel", Tag: "after-sales", Summary: "Withdraw a requested or approved after-sale", Perm: auth.Write, Idempotent: true, Params: orders.IDPath{}, In: orders.AfterSaleDecision{}, Out: orders.AfterSale{}, Handler: m.OrdersH.CancelAfterSale},

		// ── events and subscribers ──────────────────────────────────────
		// (events routes)
		{Method: GET, Path: "/api/v1/events", Tag: "events", Summary: "List the outbox of domain events, oldest first", Perm: auth.Read, Params: events.EventListParams{}, Out: web.List[events.Event]{}, Handler: m.EventsH.ListEvents},
		{Method: GET, Path: "/api/v1/events/stream", Tag: "events", Summary: "Stream new events as server-sent events (resumes after Last-Event-ID)", Perm: auth.Read, Params: events.StreamParams{}, Out: "", OutType: "text/event-stream", Handler: m.EventsH.Stream},
		{Method: POST, Path: "/api/v1/webhooks", Tag: "events", Summary: "Subscribe a URL to topics (the signing secret is shown only in this answer)", Perm: auth.AdminOnly, Idempotent: true, In: events.NewWebhook{}, Out: events.CreatedWebhook{}, Status: 201, Handler: m.EventsH.CreateWebhook},
		{Method: GET, Path: "/api/v1/webhooks", Tag: "events", Summary: "List webhooks", Perm: auth.AdminOnly, Out: web.List[events.Webhook]{}, Handler: m.EventsH.ListWebhooks},
		{Method: GET, Path: "/api/v1/webhooks/{id}", Tag: "events", Summary: "Get a webhook", Perm: auth.AdminOnly, Params: events.WebhookPath{}, Out: events.Webhook{}, Handler: m.EventsH.GetWebhook},
		{Method: PATCH, Path: "/api/v1/webhooks/{id}", Tag: "events", Summary: "Change a webhook's URL or topics, or pause and resume it", Perm: auth.AdminOnly, Params: events.WebhookPath{}, In: events.WebhookPatch{}, Out: events.Webhook{}, Handler: m.EventsH.UpdateWebhook},
		{Method: DELETE, Path: "/api/v1/webhooks/{id}", Tag: "events", Summary: "Delete a webhook and its delivery history", Perm: auth.AdminOnly, Params: events.WebhookPath{}, Status: 204, Handler: m.EventsH.DeleteWebhook},
		{Method: GET, Path: "/api/v1/webhooks/{id}/deliveries", Tag: "events", Summary: "List a webhook's deliveries, newest event first", Perm: auth.AdminOnly, Params: events.DeliveryListParams{}, Out: web.List[events.Delivery]{}, Handler: m.EventsH.ListDeliveries},
		{Method: POST, Path: "/api/v1/webhooks/deliveries/{id}/redeliver", Tag: "events", Summary: "Send a failed or delivered delivery again", Perm: auth.AdminOnly, Params: events.DeliveryPath{}, Out: events.Delivery{}, Handler: m.EventsH.Redeliver},

		// ── analytics ───────────────────────────────────────────────────
		{Method: POST, Path: "/api/v1/analytics/imports", Tag: "analytics", Summary: "Import a transaction file (online-retail, cdnow or csv; gzip accepted; up to 100 MB) into the store, all lines or none (422 import_failed names the line and column)", Perm: auth.Manage, Params: analytics.UploadParams{}, In: analytics.UploadBody(""), InType: "application/octet-stream", Out: analytics.ImportRecord{}, Status: 201, Handler: m.AnalyticsH.Upload},
		{Method: GET, Path: "/api/v1/analytics/imports", Tag: "analytics", Summary: "List stored imports, newest first", Perm: auth.Read, Out: web.List[analytics.ImportRecord]{}, Handler: m.AnalyticsH.Imports},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}", Tag: "analytics", Summary: "A stored import and its cleaning summary", Perm: auth.Read, Params: analytics.ImportPath{}, Out: analytics.ImportRecord{}, Handler: m.AnalyticsH.Import},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}/rfm", Tag: "analytics", Summary: "RFM scores and segments of an import's customers", Perm: auth.Read, Params: analytics.RFMParams{}, Out: analytics.RFMAnswer{}, Handler: m.AnalyticsH.RFM},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}/clv", Tag: "analytics", Summary: "Fit CLV models (BG/NBD and Gamma-Gamma, weeks) and warn of churn: P(alive) below churn_threshold, or the largest falls since the last saved run; a fit that does not converge says converged false", Perm: auth.Read, Params: analytics.CLVParams{}, Out: analytics.CLVAnswer{}, Handler: m.AnalyticsH.CLV},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}/cohorts", Tag: "analytics", Summary: "Monthly acquisition cohorts and retention (UTC months)", Perm: auth.Read, Params: analytics.ImportPath{}, Out: analytics.CohortTable{}, Handler: m.AnalyticsH.Cohorts},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}/abc", Tag: "analytics", Summary: "ABC/XYZ classification of an import's SKUs", Perm: auth.Read, Params: analytics.ABCParams{}, Out: analytics.ABCSummary{}, Handler: m.AnalyticsH.ABC},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}/kpis", Tag: "analytics", Summary: "Sales KPIs per period (and channel or region) with MoM and YoY changes", Perm: auth.Read, Params: analytics.KPIParams{}, Out: analytics.KPITable{}, Handler: m.AnalyticsH.KPIs},
		{Method: GET, Path: "/api/v1/analytics/imports/{id}/personas", Tag: "analytics", Summary: "Customer personas by k-means on behavioural features", Perm: auth.Read, Params: analytics.PersonaParams{}, Out: analytics.PersonaResult{}, Handler: m.AnalyticsH.Personas},
		// the same analyses over Omni's live orders (paid order lines, completed returns; Asia/Shanghai calendar)
		{Method: GET, Path: "/api/v1/analytics/orders", Tag: "analytics", Summary: "What the analyses over the live orders read: paid orders, sales and return lines, sales, discounts, returns", Perm: auth.Read, Out: analytics.OrdersSummary{}, Handler: m.AnalyticsH.Orders},
		{Method: GET, Path: "/api/v1/analytics/orders/rfm", Tag: "analytics", Summary: "RFM scores and segments of the live orders' customers (members, else mobile numbers)", Perm: auth.Read, Params: analytics.RFMQuery{}, Out: analytics.RFMAnswer{}, Handler: m.AnalyticsH.RFM},
		{Method: GET, Path: "/api/v1/analytics/orders/clv", Tag: "analytics", Summary: "Fit CLV models over the live orders and warn of churn below churn_threshold (runs are not saved)", Perm: auth.Read, Params: analytics.CLVQuery{}, Out: analytics.CLVAnswer{}, Handler: m.AnalyticsH.CLV},
		{Method: GET, Path: "/api/v1/analytics/orders/cohorts", Tag: "analytics", Summary: "Monthly acquisition cohorts and retention of the live orders (Asia/Shanghai months)", Perm: auth.Read, Out: analytics.CohortTable{}, Handler: m.AnalyticsH.Cohorts},
		{Method: GET, Path: "/api/v1/analytics/orders/abc", Tag: "analytics", Summary: "ABC/XYZ classification of the SKUs sold in the live orders", Perm: auth.Read, Params: analytics.ABCQuery{}, Out: analytics.ABCSummary{}, Handler: m.AnalyticsH.ABC},
		{Method: GET, Path: "/api/v1/analytics/orders/kpis", Tag: "analytics", Summary: "Sales KPIs of the live orders per period (and channel, region or store) with return rates, margins, MoM and YoY", Perm: auth.Read, Params: analytics.KPIQuery{}, Out: analytics.KPITable{}, Handler: m.AnalyticsH.KPIs},
		{Method: GET, Path: "/api/v1/analytics/orders/personas", Tag: "analytics", Summary: "Personas of the live orders' customers by k-means (with discount share)", Perm: auth.Read, Params: analytics.PersonaQuery{}, Out: analytics.PersonaResult{}, Handler: m.AnalyticsH.Personas},
	}
	return rs
}

// Package network owns the store network: the locations that hold stock
// (central, regional and front warehouses, and stores) and the sales channels
// (online shop, mini-program, app, live stream, POS) with the locations that
// serve each of them.
//
// Tables: locations, channels, channel_locations. No other module reads or
// writes them; they call this package's Service instead.
//
// Invariants:
//   - codes are unique, match [A-Za-z0-9._-]{1,64} and never change;
//   - a location has a real position (lat −90..90, lng −180..180, not 0,0),
//     opening hours "HH:MM-HH:MM" in Asia/Shanghai or "" for always open,
//     and an instant-delivery radius (1..50,000 m) exactly when it offers
//     instant delivery;
//   - a channel's safety stock is 0..1,000,000 units and its maximum share
//     0..10,000 basis points (0..100 %); its locations exist;
//   - every change appends a network.* event to the outbox in the same
//     transaction.
//
// Lookups used on hot paths (Location, LocationByID, Channel, ChannelByID)
// are served from a small in-memory cache that lives a few seconds and is
// emptied at once when this process changes the network; another instance's
// change is seen within that time.
//
// The package does not hold stock, route orders or decide availability:
// inventory and orders read the network through this Service.
package network

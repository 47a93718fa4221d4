package seed

import (
	"github.com/tenancy/platform/tenant/auth"
)

// restaurant is the data of a Chilean restaurant chain, "Sabores de
// Chile".
type restaurant struct{ size Size }

// restaurantScale is how much of each thing a size makes.
type restaurantScale struct {
	branches  int // of the list in data.go
	customers int
	orders    int
	orderDays int // orders spread over this many days before today
	resPast   int // days of reservations before today
	resAhead  int // and after
	campaigns int // marketing e-mails to every customer with an e-mail
}

func (r restaurant) scale() restaurantScale {
	if r.size == Large {
		// Measured: 499 MiB of database in 36 s here (BenchmarkSeed).
		return restaurantScale{branches: len(branches), customers: 90_000, orders: 490_000, orderDays: 730,
			resPast: 365, resAhead: 30, campaigns: 2}
	}
	return restaurantScale{branches: 3, customers: 400, orders: 2_000, orderDays: 60, resPast: 21, resAhead: 9, campaigns: 1}
}

func (restaurant) tables() []string {
	return []string{"branches", "menu_categories", "menu_items", "menu_item_branches", "customers",
		"orders", "order_items", "reservations", "customer_messages"}
}

func (restaurant) baseline() map[string]int64 { return map[string]int64{"branches": 1} }

// The lines of order g (an int, 1…n) over the menu arrays m: 1 to 4
// distinct dishes j, dish index l.x into m.ids/m.prices, quantity l.q.
// Orders compute their total from the same lines as order_items is filled
// from, so total_cents is Σ quantity × unit price without an UPDATE.
const orderLines = `generate_series(1, 1 + (g * 17) % 4) AS j,
	LATERAL (SELECT 1 + ((g * 31) % m.n + j * 7) % m.n AS x,
		CASE WHEN (g + j) % 5 = 0 THEN 2 WHEN (g + j) % 17 = 0 THEN 3 ELSE 1 END AS q) AS l`

// The menu and the branches as arrays, ordered by id.
const menuArrays = `m AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(price_cents ORDER BY id) AS prices,
		count(*)::int AS n FROM menu_items WHERE available)`
const branchArrays = `b AS (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM branches)`

func (r restaurant) fill(f *filler) error {
	sc := r.scale()
	chain := branches[:sc.branches]

	// The branch made with the tenant becomes the first of the chain.
	first := chain[0]
	updated := f.exec(`UPDATE branches SET address = $1, phone = $2, time_zone = $3, seats_per_slot = $4, slot_minutes = 30
		WHERE id = (SELECT min(id) FROM branches)`, first.Address, first.Phone, first.TimeZone, first.Seats)
	rest := chain
	if updated == 1 {
		rest = chain[1:]
	}
	var names, addrs, phones, zones []string
	var seats []int32
	for _, b := range rest {
		names, addrs, phones, zones = append(names, b.Name), append(addrs, b.Address), append(phones, b.Phone), append(zones, b.TimeZone)
		seats = append(seats, int32(b.Seats))
	}
	f.insert("branches", `INSERT INTO branches (name, address, phone, time_zone, seats_per_slot, slot_minutes)
		SELECT n, a, p, z, s, 30 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[]) AS x(n, a, p, z, s)
		ON CONFLICT (name) DO NOTHING`, names, addrs, phones, zones, seats)
	if f.err == nil && updated == 1 {
		f.counts[len(f.counts)-1].Rows++ // the first branch, updated in place
	}

	f.insert("menu_categories", `INSERT INTO menu_categories (name, position)
		SELECT name, pos * 10 FROM unnest($1::text[]) WITH ORDINALITY AS c(name, pos)`, menuCategories)
	var cats, dishes, descs []string
	var pesos []int32
	for _, d := range menu {
		cats, dishes, descs = append(cats, d.Category), append(dishes, d.Name), append(descs, d.Description)
		pesos = append(pesos, int32(d.Pesos))
	}
	f.insert("menu_items", `INSERT INTO menu_items (category_id, name, description, price_cents)
		SELECT c.id, d.name, d.description, d.pesos * 100
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS d(category, name, description, pesos, n)
		JOIN menu_categories c ON c.name = d.category ORDER BY d.n`, cats, dishes, descs, pesos)
	// A few dishes are off at some branches (seafood far from the coast,
	// say); a few are explicitly on.
	f.insert("menu_item_branches", `INSERT INTO menu_item_branches (menu_item_id, branch_id, available)
		SELECT mi.id, br.id, (mi.id + br.id) % 4 = 0 FROM menu_items mi CROSS JOIN branches br
		WHERE (mi.id * 7 + br.id * 3) % 11 = 0`)

	// Customers: ids reserved, so orders can name them by number.
	cbase := f.reserveIDs("customers", sc.customers)
	f.insert("customers", `INSERT INTO customers (id, name, phone, email, notes, created_at, updated_at) OVERRIDING SYSTEM VALUE
		SELECT $1::bigint + i, p.first || ' ' || p.last1 || ' ' || p.last2,
			'+56 9 ' || lpad(((i * 7919 + 1234) % 10000)::text, 4, '0') || ' ' || lpad(((i::bigint * 104729 + 5678) % 10000)::text, 4, '0'),
			CASE WHEN i % 5 <> 0 THEN translate(lower(p.first || '.' || p.last1), 'áéíóúüñ', 'aeiouun')
				|| CASE WHEN i >= p.pairs THEN (i / p.pairs)::text ELSE '' END
				|| '@' || ($5::text[])[1 + i % cardinality($5::text[])] END,
			CASE WHEN i % 9 = 0 THEN ($6::text[])[1 + (i / 9) % cardinality($6::text[])] END,
			p.at, p.at
		FROM generate_series(1, $2::int) AS i,
		LATERAL (SELECT ($3::text[])[1 + i % cardinality($3::text[])] AS first,
			($4::text[])[1 + (i / cardinality($3::text[])) % cardinality($4::text[])] AS last1,
			($4::text[])[1 + (i * 7 + 3) % cardinality($4::text[])] AS last2,
			cardinality($3::text[]) * cardinality($4::text[]) AS pairs,
			now() - make_interval(days => $7) * (1 - i::float8 / $2) - interval '1 day' AS at) AS p`,
		cbase, sc.customers, firstNames, lastNames, emailDomains, customerNotes, sc.orderDays)

	// Orders: the last few are in the kitchen now; the others were
	// delivered (or cancelled) on the days before, in opening hours.
	obase := f.reserveIDs("orders", sc.orders)
	active := min(sc.orders/20, 40)
	f.insert("orders", `WITH `+menuArrays+`, `+branchArrays+`
		INSERT INTO orders (id, branch_id, customer_id, status, order_type, total_cents, notes, created_at, updated_at) OVERRIDING SYSTEM VALUE
		SELECT $1::bigint + g, b.ids[1 + (g * 13) % b.n],
			CASE WHEN t.type <> 'dine_in' OR g % 3 = 0 THEN $3::bigint + 1 + (g::bigint * 7919) % $4 END,
			CASE WHEN g > $2 - $5 THEN (ARRAY['pending', 'confirmed', 'preparing', 'ready'])[1 + g % 4]
				WHEN g % 12 = 0 THEN 'cancelled' ELSE 'delivered' END,
			t.type,
			(SELECT sum(m.prices[l.x] * l.q) FROM `+orderLines+`),
			CASE WHEN t.type = 'delivery' AND g % 3 = 0 OR g % 29 = 0 THEN ($7::text[])[1 + g % cardinality($7::text[])] END,
			c.at, c.at + CASE WHEN g > $2 - $5 THEN interval '1 minute' ELSE interval '45 minutes' END
		FROM m, b, generate_series(1, $2::int) AS g,
		LATERAL (SELECT CASE WHEN g % 10 < 5 THEN 'dine_in' WHEN g % 10 < 8 THEN 'takeaway' ELSE 'delivery' END AS type) AS t,
		LATERAL (SELECT CASE WHEN g > $2 - $5 THEN now() - ($2 - g) * interval '3 minutes'
			ELSE ((current_date - (1 + (($6 - 1)::bigint * ($2 - g) / $2)::int)) + time '12:00' + ((g * 37) % 660) * interval '1 minute')
				AT TIME ZONE 'America/Santiago' END AS at) AS c`,
		obase, sc.orders, cbase, sc.customers, active, sc.orderDays, orderNotes)
	f.insert("order_items", `WITH `+menuArrays+`
		INSERT INTO order_items (order_id, menu_item_id, quantity, unit_price_cents, notes)
		SELECT $1::bigint + g, m.ids[l.x], l.q, m.prices[l.x], CASE WHEN (g * j) % 23 = 0 THEN 'Sin cebolla' END
		FROM m, generate_series(1, $2::int) AS g, `+orderLines,
		obase, sc.orders)

	// Reservations on a 30-minute grid at lunch and dinner, 90 minutes
	// each: at any moment at most three consecutive start times overlap,
	// and each start time books at most a third of the branch's seats, so
	// no moment exceeds seats_per_slot.
	f.insert("reservations", `WITH `+branchArrays+`,
		s AS (SELECT at, n FROM unnest(ARRAY['12:30', '13:00', '13:30', '14:00', '14:30', '19:30', '20:00', '20:30', '21:00', '21:30']::time[])
			WITH ORDINALITY AS u(at, n)),
		slots AS (
			SELECT br.id AS branch, br.seats_per_slot / 3 AS cap, d, s.n AS sn, r,
				((current_date + d) + s.at) AT TIME ZONE coalesce(br.time_zone, 'America/Santiago') AS starts,
				(br.id * 3 + (d + 1000) * 11 + s.n * 5 + r * 7) AS h
			FROM branches br, generate_series(-$1::int, $2::int) AS d, s, generate_series(1, 2) AS r
			WHERE (r = 1 AND (br.id + d * 7 + s.n * 3) % 4 <> 0) OR (r = 2 AND (br.id * 5 + d * 3 + s.n) % 3 = 0))
		INSERT INTO reservations (branch_id, customer_id, customer_name, party_size, starts_at, duration_minutes, status, notes, created_at, updated_at)
		SELECT x.branch, c.id, coalesce(c.name, ($5::text[])[1 + x.h % cardinality($5::text[])] || ' ' || ($6::text[])[1 + x.h % cardinality($6::text[])]),
			2 + x.h % (x.cap / 2 - 1), x.starts, 90,
			CASE WHEN x.d < 0 THEN (CASE WHEN x.h % 13 = 0 THEN 'cancelled' WHEN x.h % 17 = 0 THEN 'no_show' ELSE 'completed' END)
				WHEN x.d = 0 THEN (CASE WHEN x.starts < now() - interval '90 minutes' THEN 'completed'
					WHEN x.starts < now() THEN 'seated' ELSE 'confirmed' END)
				ELSE (CASE WHEN x.h % 19 = 0 THEN 'cancelled' WHEN x.h % 2 = 0 THEN 'confirmed' ELSE 'pending' END) END,
			CASE WHEN x.h % 7 = 0 THEN ($7::text[])[1 + x.h % cardinality($7::text[])] END,
			x.starts - (1 + x.h % 10) * interval '1 day', x.starts - (x.h % 10) * interval '1 day'
		FROM slots x LEFT JOIN customers c ON x.h % 5 <> 0 AND c.id = $3::bigint + 1 + (x.h * 7919) % $4
		ORDER BY x.starts, x.branch, x.r`,
		sc.resPast, sc.resAhead, cbase, sc.customers, firstNames, lastNames, reservationNotes)

	r.messages(f, sc)
	return f.err
}

// messages fills customer_messages: SMS verification codes, order updates,
// reservation reminders and marketing e-mails.
func (restaurant) messages(f *filler, sc restaurantScale) {
	admin := `(SELECT id FROM users WHERE lower(username) = lower($1))`
	// Every customer verified a phone when signing up; some twice.
	f.insert("customer_messages", `WITH `+branchArrays+`
		INSERT INTO customer_messages (branch_id, customer_id, channel, purpose, recipient, body, status, provider_ref, error, sent_by, created_at, updated_at)
		SELECT b.ids[1 + c.id % b.n], c.id, 'sms', 'verification', c.phone,
			$1 || ': tu código de verificación es ' || lpad(((c.id * 48271 + k * 7) % 1000000)::text, 6, '0') || '. Vence en 10 minutos.',
			CASE WHEN (c.id + k) % 23 = 0 THEN 'failed' ELSE 'delivered' END,
			'SM' || md5('v' || c.id || '-' || k),
			CASE WHEN (c.id + k) % 23 = 0 THEN ($2::text[])[1 + c.id % cardinality($2::text[])] END,
			NULL, c.created_at + k * interval '2 minutes', c.created_at + k * interval '2 minutes' + interval '5 seconds'
		FROM b, customers c, generate_series(1, 2) AS k
		WHERE c.phone IS NOT NULL AND (k = 1 OR c.id % 3 = 0)
		ORDER BY c.id, k`, brand, messageErrors)
	// Takeaway and delivery orders: received, then ready or on its way.
	f.insert("customer_messages", `
		INSERT INTO customer_messages (branch_id, customer_id, order_id, channel, purpose, recipient, body, status, provider_ref, sent_by, created_at, updated_at)
		SELECT o.branch_id, o.customer_id, o.id, ch.channel, 'order_update', CASE WHEN ch.channel = 'email' THEN c.email ELSE c.phone END,
			CASE WHEN k = 1 THEN 'Hola ' || split_part(c.name, ' ', 1) || ', recibimos tu pedido #' || o.id || ' en ' || $1 || ' ' || br.name
					|| '. Total: $' || replace(to_char(o.total_cents / 100, 'FM999,999,999'), ',', '.') || '.'
				WHEN o.order_type = 'delivery' THEN 'Tu pedido #' || o.id || ' va en camino. ¡Buen provecho!'
				ELSE 'Tu pedido #' || o.id || ' está listo para retiro en ' || br.address || '.' END,
			CASE WHEN o.status IN ('pending', 'confirmed', 'preparing', 'ready') THEN 'sent'
				WHEN o.id % 31 = 0 THEN 'failed' ELSE 'delivered' END,
			CASE WHEN ch.channel = 'email' THEN 'em_' ELSE 'SM' END || md5('o' || o.id || '-' || k),
			NULL, o.created_at + (k - 1) * interval '30 minutes', o.created_at + (k - 1) * interval '30 minutes' + interval '4 seconds'
		FROM orders o JOIN customers c ON c.id = o.customer_id JOIN branches br ON br.id = o.branch_id,
			generate_series(1, 2) AS k,
			LATERAL (SELECT CASE WHEN o.id % 3 = 0 AND c.email IS NOT NULL THEN 'email' WHEN o.id % 2 = 0 THEN 'whatsapp' ELSE 'sms' END AS channel) AS ch
		WHERE o.order_type <> 'dine_in' AND (k = 1 OR o.status = 'delivered')
		ORDER BY o.id, k`, brand)
	// A reminder the day before each reservation with a customer.
	f.insert("customer_messages", `
		INSERT INTO customer_messages (branch_id, customer_id, channel, purpose, recipient, body, status, provider_ref, created_at, updated_at)
		SELECT r.branch_id, r.customer_id, 'whatsapp', 'reservation', c.phone,
			'Hola ' || split_part(c.name, ' ', 1) || ', te esperamos el ' || to_char(r.starts_at AT TIME ZONE coalesce(br.time_zone, 'America/Santiago'), 'DD/MM')
				|| ' a las ' || to_char(r.starts_at AT TIME ZONE coalesce(br.time_zone, 'America/Santiago'), 'HH24:MI') || ' en ' || $1 || ' ' || br.name
				|| ' para ' || r.party_size || ' personas. Responde CANCELAR si no puedes venir.',
			CASE WHEN r.id % 29 = 0 THEN 'failed' ELSE 'delivered' END, 'wamid.' || md5('r' || r.id),
			r.starts_at - interval '1 day', r.starts_at - interval '1 day' + interval '3 seconds'
		FROM reservations r JOIN customers c ON c.id = r.customer_id JOIN branches br ON br.id = r.branch_id
		WHERE r.starts_at - interval '1 day' < now() AND r.status <> 'cancelled' AND c.phone IS NOT NULL
		ORDER BY r.starts_at, r.id`, brand)
	// Monthly newsletters, sent by the owner.
	f.insert("customer_messages", `
		INSERT INTO customer_messages (customer_id, channel, purpose, recipient, body, status, provider_ref, error, sent_by, created_at, updated_at)
		SELECT c.id, 'email', 'marketing', c.email,
			(ARRAY['Este mes en ' || $2 || ': pastel de choclo de temporada y 2x1 en pisco sour los jueves.',
				'¡Llegaron las empanadas de mariscos! Pídelas en tu local ' || $2 || ' favorito o por delivery.'])[1 + k % 2],
			CASE WHEN (c.id + k) % 41 = 0 THEN 'failed' WHEN (c.id + k) % 3 = 0 THEN 'sent' ELSE 'delivered' END,
			'em_' || md5('m' || c.id || '-' || k),
			CASE WHEN (c.id + k) % 41 = 0 THEN 'Buzón de correo lleno' END,
			`+admin+`, date_trunc('month', now()) - (k - 1) * interval '1 month' + interval '10 hours',
			date_trunc('month', now()) - (k - 1) * interval '1 month' + interval '10 hours 1 minute'
		FROM customers c, generate_series(1, $3::int) AS k
		WHERE c.email IS NOT NULL
		ORDER BY k, c.id`, auth.AdminUsername, brand, sc.campaigns)
}

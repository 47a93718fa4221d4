package console

import (
	"html/template"
	"strconv"
	"strings"
)

// The orders board's cards are written here, not by orders_board.html:
// html/template calls its escapers through reflection once per value,
// and a board of 200 cards has some 6 000 values, which made up most of
// the page's time (docs/BENCHMARKS.md). The markup is the template's
// (TestCardHTMLIsTheTemplates renders both and compares them); every
// value goes through template.HTMLEscapeString, which is safe in text
// and in double-quoted attributes; ids are numbers, hrefs our own paths.

// cardForm is what the cards' status forms carry besides the card.
type cardForm struct {
	CanWrite          bool
	CSRF, Branch, Day string
}

// esc appends s escaped for HTML text or a double-quoted attribute.
func esc(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<', '>', '&', '\'', '"', 0:
			b.WriteString(template.HTMLEscapeString(s))
			return
		}
	}
	b.WriteString(s)
}

// cardHTML appends an open card of the board to b: its order, items and
// the buttons of the statuses it may move to.
func cardHTML(b *strings.Builder, cd *orderCard, f *cardForm) {
	id := strconv.FormatInt(cd.ID, 10)
	b.WriteString(`<article class="card" id="order-`)
	b.WriteString(id)
	b.WriteString(`" data-status="`)
	esc(b, cd.Status)
	b.WriteString(`" aria-labelledby="order-`)
	b.WriteString(id)
	b.WriteString(`-h">` + "\n" + `<h3 id="order-`)
	b.WriteString(id)
	b.WriteString(`-h"><a href="`)
	esc(b, cd.Href)
	b.WriteString(`">`)
	esc(b, cd.Title)
	b.WriteString(`</a> <span class="card-time">`)
	esc(b, cd.Time)
	b.WriteString(`</span></h3>` + "\n" + `<p class="card-meta">`)
	esc(b, cd.Type)
	if cd.Customer != "" {
		b.WriteString(" · ")
		esc(b, cd.Customer)
	}
	b.WriteString(`</p>` + "\n" + `<ul class="card-items">`)
	for _, it := range cd.Items {
		b.WriteString("\n<li>")
		esc(b, it.Name)
		b.WriteString(" × ")
		b.WriteString(strconv.FormatInt(it.Quantity, 10))
		b.WriteString("</li>")
	}
	b.WriteString("\n" + `</ul>` + "\n" + `<p class="card-total">`)
	esc(b, cd.Total)
	b.WriteString(`</p>`)
	if cd.Notes != "" {
		b.WriteString("\n" + `<p class="card-notes">`)
		esc(b, cd.Notes)
		b.WriteString(`</p>`)
	}
	if f.CanWrite && len(cd.Next) > 0 {
		b.WriteString("\n" + `<form class="card-actions" method="post" action="`)
		esc(b, cd.Href)
		b.WriteString(`/status">` + "\n" + `<input type="hidden" name="csrf" value="`)
		esc(b, f.CSRF)
		b.WriteString(`">` + "\n" + `<input type="hidden" name="from" value="`)
		esc(b, cd.Status)
		b.WriteString(`">` + "\n" + `<input type="hidden" name="branch" value="`)
		esc(b, f.Branch)
		b.WriteString(`">` + "\n" + `<input type="hidden" name="day" value="`)
		esc(b, f.Day)
		b.WriteString(`">` + "\n" + `<input type="hidden" name="back" value="board">`)
		for _, n := range cd.Next {
			b.WriteString("\n" + `<button type="submit" name="status" value="`)
			esc(b, n.Status)
			b.WriteString(`" aria-describedby="order-`)
			b.WriteString(id)
			if n.Danger {
				b.WriteString(`-h" class="danger">`)
			} else {
				b.WriteString(`-h" class="primary">`)
			}
			esc(b, n.Label)
			b.WriteString(`</button>`)
		}
		b.WriteString("\n</form>")
	}
	b.WriteString("\n</article>")
}

// closedHTML appends a delivered or cancelled order's line to b.
func closedHTML(b *strings.Builder, cd *orderCard) {
	b.WriteString(`<li id="order-`)
	b.WriteString(strconv.FormatInt(cd.ID, 10))
	b.WriteString(`" data-status="`)
	esc(b, cd.Status)
	b.WriteString(`"><a href="`)
	esc(b, cd.Href)
	b.WriteString(`">`)
	esc(b, cd.Title)
	b.WriteString(`</a> · `)
	esc(b, cd.Time)
	b.WriteString(` · `)
	esc(b, cd.Type)
	b.WriteString(` · `)
	esc(b, cd.Total)
	b.WriteString(`</li>`)
}

// cardsHTML sets the HTML of every card of cols, written into one string
// (one allocation for the board, not one per card).
func cardsHTML(cols []boardColumn, open bool, f *cardForm) {
	n := 0
	for _, col := range cols {
		n += len(col.Cards)
	}
	var b strings.Builder
	b.Grow(n * 1024)
	type span struct{ from, to int }
	spans := make([]span, 0, n)
	for _, col := range cols {
		for i := range col.Cards {
			from := b.Len()
			if open {
				cardHTML(&b, &col.Cards[i], f)
			} else {
				closedHTML(&b, &col.Cards[i])
			}
			spans = append(spans, span{from, b.Len()})
		}
	}
	all, k := b.String(), 0
	for _, col := range cols {
		for i := range col.Cards {
			col.Cards[i].HTML = template.HTML(all[spans[k].from:spans[k].to]) // every value in it is escaped
			k++
		}
	}
}

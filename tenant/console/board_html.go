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
	if strings.ContainsAny(s, "<>&'\"\x00") {
		s = template.HTMLEscapeString(s)
	}
	b.WriteString(s)
}

// cardHTML is an open card of the board: its order, items and the buttons
// of the statuses it may move to.
func cardHTML(b *strings.Builder, cd *orderCard, f *cardForm) template.HTML {
	b.Reset()
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
	return template.HTML(b.String()) // every value above is escaped
}

// closedHTML is a delivered or cancelled order's line.
func closedHTML(b *strings.Builder, cd *orderCard) template.HTML {
	b.Reset()
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
	return template.HTML(b.String()) // every value above is escaped
}

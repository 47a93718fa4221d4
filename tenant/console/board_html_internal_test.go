package console

import (
	"html/template"
	"regexp"
	"strings"
	"testing"
)

// The cards as orders_board.html wrote them before board_html.go.
const cardTemplates = `{{define "card"}}<article class="card" id="order-{{.C.ID}}" data-status="{{.C.Status}}" aria-labelledby="order-{{.C.ID}}-h">
<h3 id="order-{{.C.ID}}-h"><a href="{{.C.Href}}">{{.C.Title}}</a> <span class="card-time">{{.C.Time}}</span></h3>
<p class="card-meta">{{.C.Type}}{{if .C.Customer}} · {{.C.Customer}}{{end}}</p>
<ul class="card-items">
{{- range .C.Items}}
<li>{{.Name}} × {{.Quantity}}</li>
{{- end}}
</ul>
<p class="card-total">{{.C.Total}}</p>
{{- if .C.Notes}}
<p class="card-notes">{{.C.Notes}}</p>
{{- end}}
{{- if and .F.CanWrite .C.Next}}
<form class="card-actions" method="post" action="{{.C.Href}}/status">
<input type="hidden" name="csrf" value="{{.F.CSRF}}">
<input type="hidden" name="from" value="{{.C.Status}}">
<input type="hidden" name="branch" value="{{.F.Branch}}">
<input type="hidden" name="day" value="{{.F.Day}}">
<input type="hidden" name="back" value="board">
{{- $id := .C.ID}}
{{- range .C.Next}}
<button type="submit" name="status" value="{{.Status}}" aria-describedby="order-{{$id}}-h"{{if .Danger}} class="danger"{{else}} class="primary"{{end}}>{{.Label}}</button>
{{- end}}
</form>
{{- end}}
</article>{{end}}
{{define "closed"}}<li id="order-{{.C.ID}}" data-status="{{.C.Status}}"><a href="{{.C.Href}}">{{.C.Title}}</a> · {{.C.Time}} · {{.C.Type}} · {{.C.Total}}</li>{{end}}`

// The hand-written cards are the template's, escaping included, for
// values full of markup.
func TestCardHTMLIsTheTemplates(t *testing.T) {
	t.Parallel()
	tpl := template.Must(template.New("cards").Parse(cardTemplates))
	nasty := `<script>alert("x")</script> & 'y' + ñandú`
	cards := []orderCard{
		{ID: 12, Title: "Pedido #12", Href: "/orders/12", Time: "20:15", Type: "Para llevar", Total: "$17.800",
			Status: "pending", Items: []cardItem{{Name: "Lomo a lo pobre", Quantity: 2}, {Name: nasty, Quantity: 1}},
			Next: []statusButton{{Status: "confirmed", Label: "Confirmar"}, {Status: "cancelled", Label: "Cancelar", Danger: true}}},
		{ID: 13, Title: nasty, Href: "/orders/13", Time: nasty, Type: nasty, Total: nasty, Status: "ready",
			Customer: nasty, Notes: nasty, Next: []statusButton{{Status: "delivered", Label: nasty}}},
		{ID: 14, Title: "Order #14", Href: "/orders/14", Status: "preparing"},
	}
	forms := []cardForm{{CanWrite: true, CSRF: `tok"en<&>`, Branch: "3", Day: "2026-03-01"}, {CanWrite: false}}
	space := regexp.MustCompile(`>\s+<`)
	norm := func(s string) string {
		return strings.ReplaceAll(space.ReplaceAllString(s, "><"), "&#43;", "+")
	}
	var b strings.Builder
	for _, f := range forms {
		for i := range cards {
			for _, name := range []string{"card", "closed"} {
				var want strings.Builder
				if err := tpl.ExecuteTemplate(&want, name, map[string]any{"C": &cards[i], "F": &f}); err != nil {
					t.Fatal(err)
				}
				b.Reset()
				if name == "card" {
					cardHTML(&b, &cards[i], &f)
				} else {
					closedHTML(&b, &cards[i])
				}
				got := b.String()
				if norm(got) != norm(want.String()) {
					t.Errorf("%s %d (write %v):\n got %s\nwant %s", name, cards[i].ID, f.CanWrite, got, want.String())
				}
				if strings.Contains(got, "<script>") {
					t.Errorf("%s %d: unescaped markup: %s", name, cards[i].ID, got)
				}
			}
		}
	}
	// cardsHTML gives each card its own markup.
	cols := []boardColumn{{Cards: cards[:2]}, {Cards: cards[2:]}}
	cardsHTML(cols, false, &forms[0])
	for _, col := range cols {
		for _, cd := range col.Cards {
			b.Reset()
			closedHTML(&b, &cd)
			if string(cd.HTML) != b.String() {
				t.Errorf("cardsHTML %d: %s, want %s", cd.ID, cd.HTML, b.String())
			}
		}
	}
}

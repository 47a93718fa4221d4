package console

// The reservations screens (see restaurant.go for the routes): a branch's
// day by time with the seats booked per slot against its capacity, and
// the forms. Times are entered and shown in the branch's time zone (the
// tenant's when the branch has none).

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/i18n"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
	"github.com/tenancy/platform/tenant/resource/resourcepg"
	"github.com/tenancy/platform/tenant/restaurant"
	"github.com/tenancy/platform/tenant/restaurant/restaurantpg"
)

type dayData struct {
	Branches                   []dataOption
	BranchID                   int64
	BranchName, Zone           string
	Day, DayLabel              string
	PrevURL, NextURL, TodayURL string
	NewURL, OrdersURL          string
	Capacity                   string
	Slots                      []slotRow
	Rows                       []reservationRow
	CanWrite                   bool
	Alert, DayError            string
}

type slotRow struct {
	Time, Text string
	Full       bool
}

type reservationRow struct {
	ID                             int64
	Href, Time, Until, Party, Name string
	Status, StatusLabel, Notes     string
	Next                           []statusButton
	Day, Branch                    string
}

// renderDay renders the reservations of branchRaw's dayRaw (in the
// branch's zone) with status; alert is a refused change's message.
func (s *Console) renderDay(c *fiber.Ctx, p *Page, branchRaw, dayRaw string, status int, alert string) error {
	all, b, ok, err := s.branchesOf(c, branchRaw)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	if !ok {
		return s.notFound(c, p)
	}
	p.Title = "reservations.title"
	zl := s.zoned(p, b)
	zone := zl.Locale().Zone()
	id := strconv.FormatInt(b.ID, 10)
	d := &dayData{Branches: branchOptions(all, b.ID), BranchID: b.ID, BranchName: b.Name, Zone: zone.String(),
		CanWrite: can(p, auth.PermDataWrite), Alert: alert,
		Capacity: s.t(p, "reservations.capacity", "Seats", p.L.Number(int64(b.SeatsPerSlot)), "Minutes", b.SlotMinutes)}
	p.Data = d
	day, ok := dayOf(dayRaw, zone, s.cfg.Now())
	if !ok {
		d.Day, d.DayError = dayRaw, s.t(p, "validation.invalid_date")
		p.Errors["day"] = d.DayError
		p.FormError = "validation.form_has_errors"
		return s.Render(c, fiber.StatusUnprocessableEntity, tplReservationsDay, p)
	}
	d.Day, d.DayLabel = day.Format(time.DateOnly), zl.LongDate(day)
	d.PrevURL, d.NextURL = boardURL("/reservations", b.ID, day.AddDate(0, 0, -1)), boardURL("/reservations", b.ID, nextDay(day))
	d.TodayURL, d.OrdersURL = "/reservations?branch="+id, boardURL("/orders", b.ID, day)
	d.NewURL = boardURL("/reservations/new", b.ID, day)
	var list []restaurantpg.DayReservation
	var slots []restaurant.Slot
	err = s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		if list, err = restaurantpg.DayReservations(ctx, db, b.ID, day, nextDay(day)); err != nil {
			return err
		}
		slots, err = restaurant.BookedSlots(ctx, db, b.ID, day, nextDay(day), time.Duration(b.SlotMinutes)*time.Minute)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	for _, sl := range slots {
		d.Slots = append(d.Slots, slotRow{Time: zl.Time(sl.Start), Full: sl.Booked >= b.SeatsPerSlot,
			Text: s.t(p, "reservations.booked", "Booked", p.L.Number(int64(sl.Booked)), "Seats", p.L.Number(int64(b.SeatsPerSlot)))})
	}
	for _, r := range list {
		row := reservationRow{ID: r.ID, Href: "/reservations/" + strconv.FormatInt(r.ID, 10), Time: zl.Time(r.StartsAt),
			Until: zl.Time(r.StartsAt.Add(time.Duration(r.DurationMinutes) * time.Minute)),
			Party: s.n(p, "reservations.party", r.PartySize), Name: r.CustomerName, Status: r.Status,
			StatusLabel: s.statusLabel(p, "reservations", r.Status), Next: s.buttons(p, "reservations", restaurant.ReservationNext(r.Status)),
			Day: d.Day, Branch: id}
		if r.Notes != nil {
			row.Notes = *r.Notes
		}
		d.Rows = append(d.Rows, row)
	}
	return s.Render(c, status, tplReservationsDay, p)
}

// reservationsDay: GET /reservations?branch=&day=.
func (s *Console) reservationsDay(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "reservations.title", auth.PermDataRead)
	if !ok {
		return err
	}
	if c.Query("done") == "status" {
		p.Notice = "reservations.moved"
	}
	return s.renderDay(c, p, c.Query("branch"), c.Query("day"), fiber.StatusOK, "")
}

// reservationStatus: POST /reservations/:id/status (status, from;
// back=reservation|day with branch and day).
func (s *Console) reservationStatus(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "reservations.title", auth.PermDataWrite)
	if !ok {
		return err
	}
	id := dataID(c)
	to, from := strings.Clone(c.FormValue("status")), strings.Clone(c.FormValue("from"))
	branch, day, back := strings.Clone(c.FormValue("branch")), strings.Clone(c.FormValue("day")), c.FormValue("back")
	body, _ := json.Marshal(map[string]string{"status": to})
	err = s.cfg.API.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		_, ch, err = restaurant.UpdateReservation(ctx, tx, id, body, from)
		return ch, err
	})
	switch {
	case err == nil && back == "reservation":
		return see(c, "/reservations/"+strconv.FormatInt(id, 10)+"?done=status")
	case err == nil:
		return see(c, boardURLRaw("/reservations", branch, day)+"&done=status")
	case !userError(err):
		return s.serviceError(c, p, err)
	}
	alert := s.transitionAlert(p, "reservations", id, err)
	if back == "reservation" {
		return s.renderReservation(c, p, id, fiber.StatusConflict, alert, nil)
	}
	return s.renderDay(c, p, branch, day, fiber.StatusConflict, alert)
}

func boardURLRaw(path, branch, day string) string {
	return path + "?branch=" + url.QueryEscape(branch) + "&day=" + url.QueryEscape(day)
}

// --- the forms -----------------------------------------------------------------

type reservationForm struct {
	ID                int64
	Action, Heading   string
	Inputs            []dataInput
	Zone              string
	Status, StatusKey string
	Next              []statusButton
	CanWrite          bool
	Alert             string
	DayURL            string
	Branch, Day       string
}

// reservationFields are the form's fields, in order.
var reservationFields = []string{"branch_id", "customer_id", "customer_name", "party_size", "starts_at", "duration_minutes", "status", "notes"}

// reservationForm builds the form for branch b (its zone) with values
// (the form's strings); create adds the status select.
func (s *Console) reservationForm(c *fiber.Ctx, p *Page, all []restaurantpg.BranchInfo, b restaurantpg.BranchInfo, values map[string]string, create bool) (*reservationForm, error) {
	zl := s.zoned(p, b)
	f := &reservationForm{Zone: zl.Locale().Zone().String(), CanWrite: can(p, auth.PermDataWrite)}
	for _, name := range reservationFields {
		sp := restaurant.Reservations.Field(name)
		in := s.input(p, sp, name, values[name], false)
		in.Label = s.t(p, "reservations.field."+name)
		switch name {
		case "branch_id":
			in.Type, in.Min, in.Required = "select", "", true
			in.Options = choose(branchOptions(all, 0), values[name])
		case "customer_id":
			ci, err := s.customerInput(c, p, values[name])
			if err != nil {
				return nil, err
			}
			ci.Label = in.Label
			in = ci
		case "customer_name":
			in.Required = false
		case "status":
			if !create {
				continue
			}
			in.Options = nil
			for _, st := range []string{"pending", "confirmed"} {
				in.Options = append(in.Options, dataOption{Value: st, Label: s.statusLabel(p, "reservations", st), Selected: values[name] == st})
			}
		case "duration_minutes":
			in.Required = true
		case "starts_at":
			in.Label = s.t(p, "reservations.field.starts_at_zone", "Zone", f.Zone)
		}
		in.Error = p.Errors[name]
		if !f.CanWrite {
			// Shown as text: a choice by its label, a time as the reader
			// writes it.
			for _, o := range in.Options {
				if o.Selected && o.Value != "" {
					in.Value = o.Label
				}
			}
			if tm, err := time.ParseInLocation(dataLocalTime, in.Value, zl.Locale().Zone()); err == nil && name == "starts_at" {
				in.Value = zl.DateTime(tm)
			}
		}
		f.Inputs = append(f.Inputs, in)
	}
	return f, nil
}

// reservationValues reads the posted form's fields.
func reservationValues(c *fiber.Ctx) map[string]string {
	v := map[string]string{}
	for _, k := range reservationFields {
		v[k] = strings.Clone(c.FormValue(k))
	}
	return v
}

// reservationBody is the API's JSON body of the form's values; starts_at
// is read in the zone of the branch posted.
func (s *Console) reservationBody(p *Page, all []restaurantpg.BranchInfo, values map[string]string, create bool) []byte {
	zone := p.L.Locale().Zone()
	if id, err := strconv.ParseInt(values["branch_id"], 10, 64); err == nil {
		for _, b := range all {
			if b.ID == id {
				zone = s.zoned(p, b).Locale().Zone()
			}
		}
	}
	obj := map[string]any{}
	for _, k := range reservationFields {
		raw := strings.TrimSpace(values[k])
		switch {
		case k == "status" && !create:
			continue
		case raw == "" && !create && (k == "customer_id" || k == "notes"):
			obj[k] = nil
		case raw == "" && k == "customer_name" && !create:
			obj[k] = ""
		case raw == "":
			continue
		case k == "branch_id" || k == "customer_id" || k == "party_size" || k == "duration_minutes":
			obj[k] = formInt(raw)
		case k == "starts_at":
			if tm, err := time.ParseInLocation(dataLocalTime, raw, zone); err == nil {
				obj[k] = tm.Format(time.RFC3339)
			} else {
				obj[k] = raw
			}
		default:
			obj[k] = raw
		}
	}
	b, _ := json.Marshal(obj)
	return b
}

// capacityAlert is the form's message of a capacity refusal: the fullest
// slot (in the branch's zone) and its free seats.
func (s *Console) capacityAlert(p *Page, zl *i18n.Localizer, err error) string {
	d := tenant.ErrorDetails(err)
	left, _ := d["seats_left"].(int)
	seats, _ := d["seats_per_slot"].(int)
	slot := ""
	if raw, ok := d["slot_start"].(string); ok {
		if tm, err := time.Parse(time.RFC3339, raw); err == nil {
			slot = zl.Time(tm)
		}
	}
	return s.t(p, "reservations.capacity_exceeded", "Slot", slot, "Left", p.L.Number(int64(left)), "Seats", p.L.Number(int64(seats)))
}

// branchByValue is the branch a form names, else the first active one.
func branchByValue(all []restaurantpg.BranchInfo, raw string) (restaurantpg.BranchInfo, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	var first *restaurantpg.BranchInfo
	for i, b := range all {
		if err == nil && b.ID == id {
			return b, true
		}
		if first == nil && b.Active {
			first = &all[i]
		}
	}
	if first != nil {
		return *first, true
	}
	return restaurantpg.BranchInfo{}, false
}

// writeRefused fills the page with a refused reservation write: the
// fields' messages, a capacity or transition message as the form's alert.
func (s *Console) writeRefused(p *Page, zl *i18n.Localizer, id int64, err error) string {
	switch tenant.ErrorCode(err) {
	case tenant.ECapacityExceeded:
		return s.capacityAlert(p, zl, err)
	case tenant.EInvalidTransition:
		return s.transitionAlert(p, "reservations", id, err)
	}
	s.failedFields(p, err, nil)
	p.FormError = "validation.form_has_errors"
	return ""
}

// reservationNewForm: GET /reservations/new?branch=&day=.
func (s *Console) reservationNewForm(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "reservations.new_title", auth.PermDataWrite)
	if !ok {
		return err
	}
	all, b, ok, err := s.branchesOf(c, c.Query("branch"))
	if err != nil {
		return s.serviceError(c, p, err)
	}
	if !ok {
		return s.notFound(c, p)
	}
	zone := s.zoned(p, b).Locale().Zone()
	day, ok := dayOf(c.Query("day"), zone, s.cfg.Now())
	if !ok {
		day, _ = dayOf("", zone, s.cfg.Now())
	}
	values := map[string]string{"branch_id": strconv.FormatInt(b.ID, 10), "duration_minutes": "90", "party_size": "2",
		"status": "pending", "starts_at": time.Date(day.Year(), day.Month(), day.Day(), 20, 0, 0, 0, zone).Format(dataLocalTime)}
	return s.renderReservationForm(c, p, fiber.StatusOK, all, b, values, "")
}

func (s *Console) renderReservationForm(c *fiber.Ctx, p *Page, status int, all []restaurantpg.BranchInfo, b restaurantpg.BranchInfo, values map[string]string, alert string) error {
	p.Title = "reservations.new_title"
	f, err := s.reservationForm(c, p, all, b, values, true)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	f.Action, f.Heading, f.Alert = "/reservations/new", s.t(p, "reservations.new_title"), alert
	f.DayURL = "/reservations?branch=" + strconv.FormatInt(b.ID, 10)
	p.Data = f
	return s.Render(c, status, tplReservationsForm, p)
}

// reservationCreate: POST /reservations/new.
func (s *Console) reservationCreate(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "reservations.new_title", auth.PermDataWrite)
	if !ok {
		return err
	}
	values := reservationValues(c)
	all, _, _, err := s.branchesOf(c, "")
	if err != nil {
		return s.serviceError(c, p, err)
	}
	b, ok := branchByValue(all, values["branch_id"])
	if !ok {
		return s.notFound(c, p)
	}
	body := s.reservationBody(p, all, values, true)
	v, err := resource.Decode(restaurant.Reservations, body, nil)
	var row resource.Row
	if err == nil {
		err = s.cfg.API.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
			row, ch, err = restaurant.CreateReservation(ctx, tx, v)
			return ch, err
		})
	}
	if err == nil {
		return see(c, "/reservations/"+strconv.FormatInt(row.ID(), 10)+"?done=created")
	}
	if !userError(err) {
		return s.serviceError(c, p, err)
	}
	alert := s.writeRefused(p, s.zoned(p, b), 0, err)
	status := fiber.StatusUnprocessableEntity
	if alert != "" {
		status = fiber.StatusConflict
	}
	return s.renderReservationForm(c, p, status, all, b, values, alert)
}

// renderReservation renders a reservation's page: the edit form for
// data.write, its status buttons; values are a refused form's.
func (s *Console) renderReservation(c *fiber.Ctx, p *Page, id int64, status int, alert string, values map[string]string) error {
	var row resource.Row
	var all []restaurantpg.BranchInfo
	err := s.cfg.API.Conn(c, func(ctx context.Context, db resourcepgConn) (err error) {
		if id < 1 {
			return resourcepg.NotFound(restaurant.Reservations, id)
		}
		if row, err = resourcepg.Get(ctx, db, restaurant.Reservations, id, false); err != nil {
			return err
		}
		all, err = restaurantpg.ListBranches(ctx, db)
		return err
	})
	if err != nil {
		return s.serviceError(c, p, err)
	}
	bid, _ := row.Get("branch_id").(int64)
	b, _ := branchByValue(all, strconv.FormatInt(bid, 10))
	zl := s.zoned(p, b)
	if values == nil {
		values = map[string]string{}
		for _, k := range reservationFields {
			values[k] = inputValue(restaurant.Reservations.Field(k), row.Get(k), zl.Locale().Zone())
		}
	}
	p.Title = "reservations.title_one"
	f, err := s.reservationForm(c, p, all, b, values, false)
	if err != nil {
		return s.serviceError(c, p, err)
	}
	st, _ := row.Get("status").(string)
	start, _ := row.Get("starts_at").(time.Time)
	f.ID, f.Action, f.Alert = id, "/reservations/"+strconv.FormatInt(id, 10), alert
	f.Heading = s.t(p, "reservations.title_one") + " #" + strconv.FormatInt(id, 10)
	f.Status, f.StatusKey = s.statusLabel(p, "reservations", st), st
	f.Next = s.buttons(p, "reservations", restaurant.ReservationNext(st))
	f.Branch, f.Day = strconv.FormatInt(b.ID, 10), start.In(zl.Locale().Zone()).Format(time.DateOnly)
	f.DayURL = boardURLRaw("/reservations", f.Branch, f.Day)
	p.Data = f
	return s.Render(c, status, tplReservationsForm, p)
}

// reservationShow: GET /reservations/:id.
func (s *Console) reservationShow(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "reservations.title_one", auth.PermDataRead)
	if !ok {
		return err
	}
	switch c.Query("done") {
	case "created":
		p.Notice = "reservations.created"
	case "saved":
		p.Notice = "reservations.saved"
	case "status":
		p.Notice = "reservations.moved"
	}
	return s.renderReservation(c, p, dataID(c), fiber.StatusOK, "", nil)
}

// reservationSave: POST /reservations/:id.
func (s *Console) reservationSave(c *fiber.Ctx) error {
	p, ok, err := s.restStart(c, "reservations.title_one", auth.PermDataWrite)
	if !ok {
		return err
	}
	id := dataID(c)
	values := reservationValues(c)
	all, _, _, err := s.branchesOf(c, "")
	if err != nil {
		return s.serviceError(c, p, err)
	}
	b, _ := branchByValue(all, values["branch_id"])
	body := s.reservationBody(p, all, values, false)
	err = s.cfg.API.Write(c, func(ctx context.Context, tx resourcepg.DBTX) (ch resourcehttp.Change, err error) {
		_, ch, err = restaurant.UpdateReservation(ctx, tx, id, body, "")
		return ch, err
	})
	if err == nil {
		return see(c, "/reservations/"+strconv.FormatInt(id, 10)+"?done=saved")
	}
	if !userError(err) {
		return s.serviceError(c, p, err)
	}
	alert := s.writeRefused(p, s.zoned(p, b), id, err)
	status := fiber.StatusUnprocessableEntity
	if alert != "" {
		status = fiber.StatusConflict
	}
	return s.renderReservation(c, p, id, status, alert, values)
}

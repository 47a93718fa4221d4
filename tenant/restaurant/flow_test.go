package restaurant_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tenancy/platform/tenant/restaurant"
	"github.com/tenancy/platform/tenant/restaurant/restaurantpg"
)

// The flows' next statuses, as the screens offer them.
func TestNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		next func(string) []string
		from string
		want []string
	}{
		{restaurant.OrderNext, "pending", []string{"confirmed", "cancelled"}},
		{restaurant.OrderNext, "ready", []string{"delivered", "cancelled"}},
		{restaurant.OrderNext, "delivered", nil},
		{restaurant.OrderNext, "cancelled", nil},
		{restaurant.OrderNext, "nonsense", nil},
		{restaurant.ReservationNext, "pending", []string{"confirmed", "seated", "cancelled", "no_show"}},
		{restaurant.ReservationNext, "seated", []string{"completed"}},
		{restaurant.ReservationNext, "no_show", nil},
	} {
		if got := tc.next(tc.from); !slices.Equal(got, tc.want) {
			t.Errorf("next of %s: %v, want %v", tc.from, got, tc.want)
		}
	}
	// A copy: a caller cannot change the flow.
	restaurant.OrderNext("pending")[0] = "delivered"
	if got := restaurant.OrderNext("pending")[0]; got != "confirmed" {
		t.Fatalf("the flow changed: %s", got)
	}
}

// Slots are the slots bookings overlap, with their guests.
func TestSlots(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	bookings := []restaurantpg.Booking{
		{Start: at(20, 0), End: at(21, 0), Party: 8},
		{Start: at(20, 30), End: at(21, 30), Party: 2},
		{Start: at(13, 15), End: at(13, 45), Party: 4}, // two slots
	}
	got := restaurant.Slots(bookings, day, day.AddDate(0, 0, 1), 30*time.Minute)
	want := []restaurant.Slot{{at(13, 0), 4}, {at(13, 30), 4}, {at(20, 0), 8}, {at(20, 30), 10}, {at(21, 0), 2}}
	if !slices.EqualFunc(got, want, func(a, b restaurant.Slot) bool { return a.Start.Equal(b.Start) && a.Booked == b.Booked }) {
		t.Fatalf("slots %v, want %v", got, want)
	}
	if got := restaurant.Slots(nil, day, day.AddDate(0, 0, 1), 30*time.Minute); len(got) != 0 {
		t.Fatalf("no bookings: %v", got)
	}
	if got := restaurant.Slots(bookings, day, day.AddDate(0, 0, 1), 0); len(got) != 0 {
		t.Fatalf("no slot length: %v", got)
	}
}

package controllers

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// metav1Now truncates to the second: the API stores times with second
// precision, and a finer stamp would make every fresh status differ from
// its own round trip.
func metav1Now(t time.Time) metav1.Time {
	return metav1.NewTime(t.UTC().Truncate(time.Second))
}

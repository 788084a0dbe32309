package harness

import (
	"bufio"
	"fmt"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a Prometheus text endpoint, by family name.
type Metrics map[string]*dto.MetricFamily

// Scrape reads a Prometheus text endpoint.
func Scrape(url string) (Metrics, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bufio.NewReader(resp.Body))
	return Metrics(fams), err
}

// FromFamilies indexes gathered families (prometheus.Gatherer.Gather) by name.
func FromFamilies(fams []*dto.MetricFamily) Metrics {
	m := Metrics{}
	for _, f := range fams {
		m[f.GetName()] = f
	}
	return m
}

// Gauge sums a gauge (or untyped) over the series whose labels include match.
func (m Metrics) Gauge(name string, match map[string]string) float64 {
	sum := 0.0
	for _, s := range m.series(name, match) {
		if g := s.GetGauge(); g != nil {
			sum += g.GetValue()
		} else {
			sum += s.GetUntyped().GetValue()
		}
	}
	return sum
}

// Counter sums a counter over the series whose labels include match.
func (m Metrics) Counter(name string, match map[string]string) float64 {
	sum := 0.0
	for _, s := range m.series(name, match) {
		sum += s.GetCounter().GetValue()
	}
	return sum
}

// HistogramCount sums the sample counts of a histogram over the series
// whose labels include match.
func (m Metrics) HistogramCount(name string, match map[string]string) uint64 {
	var n uint64
	for _, s := range m.series(name, match) {
		n += s.GetHistogram().GetSampleCount()
	}
	return n
}

// Mutations counts the mutating API requests of the scraped process
// (client-go's rest_client_requests_total, every method but GET and HEAD).
func (m Metrics) Mutations() float64 {
	sum := 0.0
	for _, s := range m.series("rest_client_requests_total", nil) {
		for _, l := range s.Label {
			if l.GetName() == "method" && l.GetValue() != "GET" && l.GetValue() != "HEAD" {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func (m Metrics) series(name string, match map[string]string) []*dto.Metric {
	f := m[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, s := range f.Metric {
		if LabelsInclude(s.Label, match) {
			out = append(out, s)
		}
	}
	return out
}

// LabelsInclude reports whether labels hold every name=value of match.
func LabelsInclude(labels []*dto.LabelPair, match map[string]string) bool {
	for k, v := range match {
		found := false
		for _, l := range labels {
			found = found || (l.GetName() == k && l.GetValue() == v)
		}
		if !found {
			return false
		}
	}
	return true
}

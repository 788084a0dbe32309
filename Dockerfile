# Build the manager binary with the same command CI uses (`make build`).
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
# -X flags stamping internal/version (make docker-build passes the Makefile's).
ARG LDFLAGS=""
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags "${LDFLAGS}" -o bin/manager ./cmd/manager

# Distroless, non-root: nothing but the static binary.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/bin/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]

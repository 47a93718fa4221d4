# PLACEHOLDER until the packaging issue: builds the platform binary only.
# The real image (non-root user, health checks, migrations on start) comes
# with the Helm chart in charts/platform.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/platform ./cmd/platform

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/platform /platform
ENTRYPOINT ["/platform"]

# syntax=docker/dockerfile:1
# flicker as a static binary on distroless: no shell, no libc, runs as nonroot.
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t flicker .
# The Go version follows go.mod's go line.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Module downloads get their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=dev
# CGO off for a static binary; timetzdata embeds the zone database so `timezone:` works whatever the base holds.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags timetzdata \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/flicker ./cmd/flicker

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flicker /flicker
USER nonroot:nonroot
ENTRYPOINT ["/flicker"]

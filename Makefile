# Convenience targets; each is a plain go command you can run yourself.
.PHONY: test test-pg race demo bench fuzz

test:            ## the test command (PostgreSQL cases run when OMNI_TEST_POSTGRES_URL is set)
	go test ./...

test-pg:         ## start a throwaway PostgreSQL and run the tests on both engines
	eval "$$(.ci/pg-start)" && go test ./...

race:
	go test -race ./...

demo:
	go run ./cmd/omni demo

bench:
	go run ./cmd/omni bench flashsale

fuzz:
	go test -run='^$$' -fuzz=FuzzImportCSV -fuzztime=60s ./internal/catalog/

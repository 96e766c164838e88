package main

import (
	"context"
	"errors"
)

func cmdCount(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

func cmdOpen(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

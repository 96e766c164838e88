package main

import (
	"context"
	"errors"
)

func cmdTray(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

func cmdDemo(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

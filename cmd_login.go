package main

import (
	"context"
	"errors"
)

func cmdLogin(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

func cmdLogout(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

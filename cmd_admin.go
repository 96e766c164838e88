package main

import (
	"context"
	"errors"
)

func cmdUser(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

func cmdParty(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

func cmdGroup(ctx context.Context, e *env, args []string) error {
	return errors.New("not implemented yet")
}

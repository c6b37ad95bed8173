"""Tests of silkline.policy: the rules file, decisions, and `silkline policy`."""

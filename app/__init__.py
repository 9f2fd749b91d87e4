"""BHXH Assistant: answers citizens' social and health insurance questions."""

"""Export to a static inference model, deploy.yaml, and Paddle Inference predictors."""

import { ConfirmSignUpInput, Credentials, ForgotPasswordInput, ResetPasswordInput, SessionUser } from '../../../contracts/api'
import { limitAuthAttempts, protectedProcedure, publicProcedure, router } from '../init'

export const authRouter = router({
  signUp: publicProcedure.input(Credentials).mutation(async ({ ctx, input }) => {
    const { confirmed } = await ctx.app.auth.signUp(input.email, input.password)
    if (!confirmed) return { signedIn: false as const, next: 'confirm' as const }
    ctx.session.setTokens(await ctx.app.auth.signIn(input.email, input.password))
    return { signedIn: true as const, next: 'studio' as const }
  }),

  confirmSignUp: publicProcedure.input(ConfirmSignUpInput).mutation(async ({ ctx, input }) => {
    await limitAuthAttempts(ctx, input.email, () => ctx.app.auth.confirmSignUp(input.email, input.code))
    return { confirmed: true as const }
  }),

  forgotPassword: publicProcedure.input(ForgotPasswordInput).mutation(async ({ ctx, input }) => {
    await ctx.app.auth.forgotPassword(input.email)
    return { sent: true as const }
  }),

  resetPassword: publicProcedure.input(ResetPasswordInput).mutation(async ({ ctx, input }) => {
    // Wrong codes count like wrong passwords: a 6-digit code must not be guessable.
    await limitAuthAttempts(ctx, input.email, () => ctx.app.auth.resetPassword(input.email, input.code, input.password))
    ctx.session.setTokens(await ctx.app.auth.signIn(input.email, input.password))
    return { signedIn: true as const }
  }),

  signIn: publicProcedure.input(Credentials).mutation(async ({ ctx, input }) => {
    ctx.session.setTokens(await limitAuthAttempts(ctx, input.email, () => ctx.app.auth.signIn(input.email, input.password)))
    return { signedIn: true as const }
  }),

  signOut: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.session.refreshToken) await ctx.app.auth.signOut(ctx.session.refreshToken)
    ctx.session.clear()
    return { signedIn: false as const }
  }),

  me: protectedProcedure.output(SessionUser).query(async ({ ctx }) => ({
    sub: ctx.user.sub,
    username: ctx.user.username,
    email: await ctx.app.auth.email(ctx.accessToken),
  })),
})
